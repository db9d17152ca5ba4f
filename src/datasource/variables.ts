import { CustomVariableSupport, type DataQueryRequest, type DataQueryResponse } from '@grafana/data';
import { from, map, type Observable } from 'rxjs';
import type { DataSource } from './datasource';
import type { FaultlineVariableQuery } from './types';
import { VariableQueryEditor } from './components/VariableQueryEditor';

/** Dashboard variables: namespaces, kinds, experiments, targets, phases (see metricFindQuery). */
export class FaultlineVariableSupport extends CustomVariableSupport<DataSource, FaultlineVariableQuery> {
  constructor(private readonly datasource: DataSource) {
    super();
  }

  editor = VariableQueryEditor;

  query(request: DataQueryRequest<FaultlineVariableQuery>): Observable<DataQueryResponse> {
    const query = request.targets[0] ?? { refId: 'variable', find: 'namespaces' };
    return from(this.datasource.metricFindQuery(query, { scopedVars: request.scopedVars })).pipe(map((data) => ({ data })));
  }
}
