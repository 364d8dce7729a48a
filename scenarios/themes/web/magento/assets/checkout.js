// Stands in for Luma's checkout (github.com/magento/magento2, 2.4 line):
// Magento_Ui/js/core/app binds #checkout to the layout in
// window.checkoutConfig, Knockout renders Magento_Checkout's
// web/template/onepage.html (e59cdf44eb38aa1eb65095ef0cb744c52d06dbd8) with
// its regions, the shipping step web/template/shipping.html
// (d46d39d75c79482ca7404483d00e10a4d29b0a10: li#shipping >
// #checkout-step-shipping, li#opc-shipping_method >
// #checkout-step-shipping_method > form#co-shipping-method-form) and the
// progress bar, the step navigator puts #shipping in the URL and the
// checkout loader goes away. Shipping rates come from the REST API. Ours
// and minimal: the same markup, built once the rates are in.
(function () {
  'use strict';
  const config = window.checkoutConfig;
  const mask = config.quoteData.entity_id;

  function render(rates) {
    const steps =
      '<div class="authentication-wrapper" data-block="authentication">' +
        '<button type="button" class="action action-auth-toggle" data-trigger="authentication"><span>Sign In</span></button>' +
      '</div>' +
      '<ul class="opc-progress-bar">' +
        '<li class="opc-progress-bar-item _active"><span>Shipping</span></li>' +
        '<li class="opc-progress-bar-item"><span>Review &amp; Payments</span></li>' +
      '</ul>' +
      '<div class="opc-estimated-wrapper"><div class="estimated-block"><span class="estimated-label">Estimated Total</span><span class="estimated-price">' + config.totalsData.subtotal + '</span></div></div>' +
      '<div class="opc-wrapper"><ol class="opc" id="checkoutSteps">' +
        '<li id="shipping" class="checkout-shipping-address">' +
          '<div class="step-title" data-role="title">Shipping Address</div>' +
          '<div id="checkout-step-shipping" class="step-content" data-role="content">' +
            '<form class="form form-login" data-role="email-with-possible-login" novalidate="novalidate">' +
              '<fieldset id="customer-email-fieldset" class="fieldset">' +
                '<div class="field required"><label class="label" for="customer-email"><span>Email Address</span></label>' +
                '<div class="control _with-tooltip"><input class="input-text" type="email" name="username" id="customer-email" autocomplete="email" aria-required="true"></div></div>' +
              '</fieldset>' +
            '</form>' +
            '<form class="form form-shipping-address" id="co-shipping-form" data-hasrequired="* Required Fields">' +
              '<div id="shipping-new-address-form" class="fieldset address">' +
                '<div class="field _required" name="shippingAddress.firstname"><label class="label" for="shipping-firstname"><span>First Name</span></label><div class="control"><input class="input-text" type="text" name="firstname" id="shipping-firstname"></div></div>' +
                '<div class="field _required" name="shippingAddress.lastname"><label class="label" for="shipping-lastname"><span>Last Name</span></label><div class="control"><input class="input-text" type="text" name="lastname" id="shipping-lastname"></div></div>' +
              '</div>' +
            '</form>' +
          '</div>' +
        '</li>' +
        '<li id="opc-shipping_method" class="checkout-shipping-method" role="presentation">' +
          '<div class="checkout-shipping-method">' +
            '<div class="step-title" data-role="title">Shipping Methods</div>' +
            '<div id="checkout-step-shipping_method" class="step-content" data-role="content" role="tabpanel" aria-hidden="false">' +
              '<form id="co-shipping-method-form" class="form methods-shipping" novalidate="novalidate">' +
                '<div id="checkout-shipping-method-load"><table class="table-checkout-shipping-method"><tbody>' +
                  rates.map((r) => '<tr class="row"><td class="col col-method"><input type="radio" class="radio" value="' + r.carrier_code + '_' + r.method_code + '" name="ko_unique_1"></td>' +
                    '<td class="col col-price"><span class="price">€' + r.amount.toFixed(2) + '</span></td><td class="col col-method">' + r.method_title + '</td><td class="col col-carrier">' + r.carrier_title + '</td></tr>').join('') +
                '</tbody></table></div>' +
                '<div class="actions-toolbar" id="shipping-method-buttons-container"><div class="primary">' +
                  '<button data-role="opc-continue" type="submit" class="button action continue primary"><span>Next</span></button>' +
                '</div></div>' +
              '</form>' +
            '</div>' +
          '</div>' +
        '</li>' +
      '</ol></div>' +
      '<aside class="modal-custom opc-sidebar opc-summary-wrapper"><div class="opc-block-summary"><span class="title">Order Summary</span>' +
        '<ol class="minicart-items">' + config.quoteItemData.map((i) => '<li class="product-item"><strong class="product-item-name">' + i.name + '</strong> <span class="value">' + i.qty + '</span></li>').join('') + '</ol>' +
      '</div></aside>';
    const container = document.getElementById('checkout');
    container.insertAdjacentHTML('beforeend', steps);
    document.getElementById('checkout-loader').remove();
    if (!location.hash) location.hash = 'shipping';
  }

  function start() {
    fetch('/rest/default/V1/guest-carts/' + encodeURIComponent(mask) + '/estimate-shipping-methods', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Requested-With': 'XMLHttpRequest' },
      body: JSON.stringify({ address: { country_id: 'DE' } }),
    })
      .then((r) => r.json())
      .then(render);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
