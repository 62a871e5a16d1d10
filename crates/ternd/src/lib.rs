//! ternd: the tern BGP daemon.
//!
//! - [`spec`]: the resolved per-peer configuration and the TTL/GTSM rules;
//! - [`peer`]: peer and connection tasks around [`tern_fsm::Session`] (RFC 4271 §8, §6.8);
//!   [`limit`]: their `peer X route-limit` checks;
//! - [`sockets`]: TCP MD5 (RFC 2385) and GTSM (RFC 5082) socket options;
//! - [`daemon`]: listeners and the control socket, descriptor limits and accept backoff;
//! - [`ratelog`]: rate-limited logging of what a remote party can trigger;
//! - [`control`]: the control API (tern-api): management sessions, `?`, Tab, displays;
//! - [`display`]: the peer and routing-table displays in VRP's layout; [`filter`]: their
//!   `| include` / `| exclude` / `| begin` / `| count` / `| no-more` filters;
//! - [`fib`]: next-hop resolution against the kernel and route installation (tern-fib);
//! - [`rib_task`]: the task that owns the RIB, fed by the connection tasks; route policies
//!   come from `tern-policy`, labels and the Adj-RIB-Out from `tern-engine`;
//! - [`record`], [`replay`]: the engine's inputs recorded (`--record`) and replayed;
//! - [`restart`]: this router's graceful restart (RFC 4724 §4.1);
//! - [`status`]: what the displays read;
//! - [`bmp`]: BMP (RFC 7854): the peers reported to monitoring stations;
//! - [`mrt`]: MRT RIB dumps and the message log (RFC 6396);
//! - [`metrics`]: Prometheus metrics on `--metrics ADDR:PORT`, collected at scrape time.

pub mod access;
pub mod bmp;
pub mod config;
pub mod control;
pub mod daemon;
pub mod display;
pub mod fib;
pub mod filter;
pub mod groups;
pub mod limit;
pub mod manager;
pub mod metrics;
pub mod mrt;
pub mod output;
pub mod peer;
pub mod ratelog;
pub mod record;
pub mod replay;
pub mod restart;
pub mod rib_task;
pub mod show;
pub mod sockets;
pub mod spec;
pub mod state;
pub mod status;
pub mod table_stream;
