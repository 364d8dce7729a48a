// Package influx turns stored runs into InfluxDB line-protocol points and
// ships them from a durable outbox (the SQLite store's, through the Outbox
// interface: this package does not import storage/sqlite) with
// github.com/influxdata/influxdb-client-go/v2.
//
// The schema (measurements, tags, fields, units) is documented in the
// README's "Data model" section. Every point of a run is stamped with the
// run's scheduled time, so shipping a run twice overwrites rather than
// duplicates: the outbox can therefore be at-least-once and the data in
// InfluxDB is still exactly-once.
package influx
