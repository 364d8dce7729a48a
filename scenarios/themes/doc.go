// Package themes serves fixture storefronts that reproduce each platform's
// reference theme, so the built-in journey templates (scenarios/templates)
// can be proven against the markup real shops render rather than against
// markup shaped to fit the templates' selectors:
//
//   - Shopify: Dawn, with the cart drawer and Shopify's customer privacy
//     banner; add to cart posts with fetch to /cart/add and re-renders the
//     drawer and the cart icon bubble from the sections in the answer; the
//     cart page's checkout button posts the cart, and /checkout redirects
//     to /checkouts/cn/<token>.
//   - Magento 2: Luma, with the cookie restriction notice (Magento_Cookie);
//     add to cart posts with XHR, then the minicart counter and the success
//     message come from customer-data's /customer/section/load; /checkout/
//     renders its shipping step in the browser (#checkout-step-shipping).
//   - WooCommerce: Storefront, with the Complianz consent banner; add to
//     cart posts the product form and the page comes back with a
//     .woocommerce-message; /checkout/ serves form.checkout.
//
// Every page template under web/ names, in a comment at its top, the theme
// files (repository, path, tag or commit) whose markup it reproduces:
// element names, classes, ids, data attributes and form actions are the
// theme's. The JavaScript under web/*/assets is ours and minimal: only what
// the real flows need (add to cart, drawer or minicart, consent, checkout
// rendering), with the theme's file it stands in for named at its top.
//
// Each platform is one http.Handler (Shopify, Magento, WooCommerce) with
// realistic URLs; tests serve it with httptest on loopback. Carts live in a
// per-handler session store keyed by the platform's own session cookie, so a
// fresh browser context starts with an empty cart, as on a real shop.
//
// This is test support: nothing in storeprobe's binary imports it.
package themes
