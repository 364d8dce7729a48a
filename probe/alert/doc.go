// Package alert decides when a check's runs mean that someone must be told:
// the alert rules (down, burn rates, certificate expiry, sustained load and
// Core Web Vitals breaches, probe health, flapping) and the state machine
// that fires, repeats and resolves alerts, with maintenance windows and
// dependencies silencing what they explain. It is pure: time comes from an
// injectable clock, runs come in as they land, notifications go out as
// values for probe/notify to deliver.
package alert
