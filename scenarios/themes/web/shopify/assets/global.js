// Stands in for Dawn's assets/global.js (github.com/Shopify/dawn v15.4.1):
// only fetchConfig, which product-form.js uses to build its request. Ours,
// not Dawn's code.
function fetchConfig(type = 'json') {
  return {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: `application/${type}` },
  };
}
