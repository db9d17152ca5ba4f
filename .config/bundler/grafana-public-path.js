// Where this plugin's files are served from, so lazily loaded chunks and assets resolve: Grafana's
// loader passes the module's own URL as the AMD "module" dependency (nested plugins live under
// public/plugins/<app id>/<dir>/). Same code as create-plugin's virtual module.
import amdMetaModule from 'amd-module';

// eslint-disable-next-line no-undef -- webpack defines it in every module
__webpack_public_path__ =
  amdMetaModule && amdMetaModule.uri ? amdMetaModule.uri.slice(0, amdMetaModule.uri.lastIndexOf('/') + 1) : 'public/plugins/faultline-chaos-app/';
