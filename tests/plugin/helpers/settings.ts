import type { DataSourceInstanceSettings } from '@grafana/data';
import type { FaultlineOptions } from '../../../src/datasource/types';

/** The instance settings Grafana hands a Faultline data source reached through its proxy at /api/datasources/proxy/uid/<uid>. */
export function instanceSettings(uid: string, jsonData: FaultlineOptions = {}, id = 1): DataSourceInstanceSettings<FaultlineOptions> {
  return {
    uid,
    id,
    type: 'faultline-chaos-datasource',
    name: 'Faultline',
    url: `/api/datasources/proxy/uid/${uid}`,
    access: 'proxy',
    jsonData,
    meta: { id: 'faultline-chaos-datasource' },
    readOnly: false,
  } as unknown as DataSourceInstanceSettings<FaultlineOptions>;
}
