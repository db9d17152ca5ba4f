// A minimal AMD loader, standing in for the SystemJS/AMD loader Grafana uses for plugins:
// plugin bundles call define([deps], factory) anonymously; deps are the modules Grafana shares
// (react, @grafana/ui, ...), which the harness vendor bundle registers with amdRegister().
(function () {
  var registry = {};
  var pending = null;

  window.amdRegister = function (name, exports) {
    registry[name] = exports;
  };

  window.define = function (deps, factory) {
    if (typeof deps === 'function') {
      factory = deps;
      deps = [];
    }
    pending = { deps: deps, factory: factory };
  };
  window.define.amd = {};

  function resolve(name, url) {
    // Grafana's loader hands a module its own URL as "module" (create-plugin's public path reads it).
    if (name === 'module') return { uri: url };
    if (name === 'exports' || name === 'require') return undefined;
    if (!(name in registry)) throw new Error('harness: module "' + name + '" is not provided (Grafana would provide it?)');
    return registry[name];
  }

  /** Loads an AMD module by URL and resolves to its exports. */
  window.amdImport = function (url) {
    return new Promise(function (ok, fail) {
      var script = document.createElement('script');
      script.src = url;
      script.onload = function () {
        var def = pending;
        pending = null;
        if (!def) return fail(new Error('harness: ' + url + ' did not call define()'));
        try {
          var exportsObj = {};
          var args = def.deps.map(function (d) {
            return d === 'exports' ? exportsObj : resolve(d, script.src);
          });
          var result = def.factory.apply(null, args);
          ok(result !== undefined ? result : exportsObj);
        } catch (err) {
          fail(err);
        }
      };
      script.onerror = function () {
        fail(new Error('harness: could not load ' + url));
      };
      document.head.appendChild(script);
    });
  };
})();
