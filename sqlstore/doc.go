// Package sqlstore is the ptu.Tx and the data stores (DataStore: metric
// points, token usage, the activity log) every SQL store shares: the queries over
// database/sql, written in the SQL that SQLite and PostgreSQL both accept
// (upserts name the table for the existing row; CASE instead of min/max or
// LEAST/GREATEST), with only the placeholders adapted per database. The
// packages sqlite and postgres own connections, transactions and migrations,
// and pass every storetest suite through this one implementation.
package sqlstore
