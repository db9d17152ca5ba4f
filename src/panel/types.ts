/** Options saved with the panel (dashboard JSON). */
export interface PanelOptions {
  /** uid or name of the Faultline data source; empty = the first Faultline data source. */
  datasource: string;
}
