// Package probe holds storeprobe's domain: what a check is, what one run of it
// produced, the closed set of failure kinds, Core Web Vitals and their ratings,
// and the service-level targets results are judged against. It also holds the
// vocabulary every reader of the user's files shares: a Problem at FILE:LINE,
// Problems as one error, and FieldError for a check key a validator refuses.
//
// It depends on the standard library only. The packages below it do the work
// (httpcheck, browser, schedule, slo, config, yamldoc); storage and the CLI
// depend on it, never the other way round.
package probe
