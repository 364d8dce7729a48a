// Package scenarios is storeprobe's journey language: it parses declarative
// YAML journeys (goto, click, wait_for, type, select, assert_text,
// assert_url, screenshot, sleep, wait_for_payment) into probe.Journey with every problem
// reported as FILE:LINE (probe.Problems; the YAML handling is probe/yamldoc's,
// shared with the config), substitutes {{param}} placeholders, and ships the
// built-in checkout templates for Shopify, WooCommerce, Magento and custom
// shops plus the demo storefront's journey.
//
// The journey file:
//
//	name: checkout
//	description: home to checkout   # optional
//	device: mobile                  # optional: desktop (default) or mobile
//	timeout: 60s                    # optional: the whole journey
//	params: {base_url: "https://shop.example.com", email: ""}
//	steps:
//	  - goto: "{{base_url}}/"
//	    page: home
//	  - click: "a.product-card"
//	    page: product
//	  - wait_for: {text: "Added to cart"}   # or {selector: CSS} or {url: REGEX}
//	  - type: {selector: "#email", text: "{{email}}", secret: true}
//	  - select: {selector: "#country", value: "DE"}
//	  - assert_text: {selector: "h1", text: "Checkout"}   # selector defaults to body
//	  - assert_url: "/checkout"                           # a regular expression
//	  - screenshot: cart
//	  - sleep: 500ms
//	  - wait_for_payment: stripe   # stripe | paypal | square: the card field or buttons ready
//
// Every step has exactly one action key plus the optional keys name, page,
// timeout and optional. Placeholders are {{name}} or {{name | query}} (the
// value URL-query-escaped, for search terms in URLs); every name must be
// declared under params. In the regular-expression fields (assert_url and
// wait_for url) a substituted value matches literally.
package scenarios
