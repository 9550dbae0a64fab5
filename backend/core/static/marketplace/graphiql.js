// GraphiQL for the page's own endpoint (/graphql/ or /storefront/graphql/).
// The APIs authenticate with a bearer token: put {"Authorization": "Bearer <token>"} in the
// Headers tab. Requests are JSON POSTs, which the core API's cross-site request check accepts.
(function (window, document, React, ReactDOM, GraphiQL, GraphiQLPluginExplorer) {
  "use strict";
  var root = document.getElementById("graphiql");
  var endpoint = root.getAttribute("data-endpoint");

  // The query, variables and operation name live in the URL fragment, so a query can be shared.
  var parameters = {};
  window.location.hash.slice(1).split("&").forEach(function (entry) {
    var eq = entry.indexOf("=");
    if (eq >= 0) {
      parameters[decodeURIComponent(entry.slice(0, eq))] = decodeURIComponent(entry.slice(eq + 1));
    }
  });
  function updateURL() {
    var fragment = Object.keys(parameters)
      .filter(function (key) { return parameters[key]; })
      .map(function (key) { return encodeURIComponent(key) + "=" + encodeURIComponent(parameters[key]); })
      .join("&");
    window.history.replaceState(null, "", "#" + fragment);
  }

  var fetcher = GraphiQL.createFetcher({ url: endpoint });

  function Page() {
    var state = React.useState(parameters.query);
    var query = state[0];
    var setQuery = state[1];
    function onEditQuery(value) {
      setQuery(value);
      parameters.query = value;
      updateURL();
    }
    var explorer = GraphiQLPluginExplorer.useExplorerPlugin({ query: query, onEdit: onEditQuery });
    return React.createElement(GraphiQL, {
      fetcher: fetcher,
      plugins: [explorer],
      query: query,
      variables: parameters.variables,
      operationName: parameters.operationName,
      onEditQuery: onEditQuery,
      onEditVariables: function (value) { parameters.variables = value; updateURL(); },
      onEditOperationName: function (value) { parameters.operationName = value; updateURL(); },
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
      defaultEditorToolsVisibility: true,
    });
  }

  ReactDOM.render(React.createElement(Page), root);
})(window, document, window.React, window.ReactDOM, window.GraphiQL, window.GraphiQLPluginExplorer);
