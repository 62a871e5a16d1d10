//! tern-engine: the route engine's parts around the RIB ([`tern_rib`]), pure and
//! single-owner (no async runtime, no locks, no I/O), each module owning one concern's state
//! and testable alone:
//!
//! - [`labels`]: every MPLS label this router allocates, its whole life (allocation, reuse,
//!   release): labels of routes re-advertised with next hop self (RFC 8277 §3.2, RFC 4364
//!   §10 option B/C), and of VPN routes exported from local instances, per route or per
//!   instance (RFC 4364 §4.3.2).
//! - [`adjout`]: the Adj-RIB-Out in update groups (RFC 4271 §3.2, §9.2; RFC 4456 §6): each
//!   changed destination evaluated and encoded once per group, the same bytes to every
//!   member through a [`adjout::Sink`] that never blocks; members that join walk the tables
//!   with a cursor, slow members catch up alone.

#![forbid(unsafe_code)]

pub mod adjout;
pub mod labels;

pub use labels::{FIRST_LABEL, Labels};
