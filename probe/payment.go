package probe

// PaymentProvider is a payment gateway whose embedded card field or
// buttons a browser check can wait for (a journey's wait_for_payment step,
// a browser check's payment key). The set is closed: it is a tag value in
// InfluxDB and a column in the store.
type PaymentProvider string

// The payment gateways whose readiness storeprobe knows how to judge.
const (
	PaymentStripe PaymentProvider = "stripe" // Stripe Elements / Payment Element
	PaymentPayPal PaymentProvider = "paypal" // PayPal Smart Buttons (JS SDK)
	PaymentSquare PaymentProvider = "square" // Square Web Payments SDK card
)

// PaymentProviders lists every provider, in the order messages name them.
var PaymentProviders = []PaymentProvider{PaymentStripe, PaymentPayPal, PaymentSquare}

// Valid reports whether p is one of the closed set.
func (p PaymentProvider) Valid() bool {
	for _, q := range PaymentProviders {
		if p == q {
			return true
		}
	}
	return false
}

// PaymentProviderNames is the set as one string for messages: "stripe,
// paypal, square".
func PaymentProviderNames() string {
	out := ""
	for i, p := range PaymentProviders {
		if i > 0 {
			out += ", "
		}
		out += string(p)
	}
	return out
}
