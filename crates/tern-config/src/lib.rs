//! tern's configuration: one VRP command grammar, the typed model it changes, and the ways
//! lines reach it (configuration files and typed lines).
//!
//! ```text
//!  text line ──tokenize──▶ Grammar (per-view token tree) ──Matched──▶ action ──Change──▶ Config
//!                               │                                      │            (rules checked,
//!                               └─ `?` help, completion, errors        └─ kept lines  all or nothing)
//! ```
//!
//! - [`grammar`]: the declarative token tree and the single matcher (keywords by unique prefix,
//!   typed arguments, `undo`, VRP's error classes and caret positions).
//! - `table`: the table itself, every command per view, one file per view (`table/system.rs`,
//!   `table/bgp.rs`, ...), each command's node, action and printer together.
//! - `vrp`: the grammar built once from the table ([`Grammar::get`]).
//! - [`model`]: [`Config`] and its parts (interfaces, VPN instances, BGP, route policies).
//! - [`community`]: the community values of `apply community` (RFC 1997).
//! - [`change`]: [`Change`], one typed change per line, and the VRP rules checked by
//!   [`Config::apply`]; [`change::group`], the peer group commands and their rules.
//!   [`Config::effective`] (in `model`) gives what peer group members run with.
//! - [`session`]: [`Session`] (view stack + `apply_line`) and [`parse_file`].
//! - [`print`](mod@print): [`Config::to_vrp`], `display current-configuration`, driven by the printers
//!   the table attaches to its commands; [`changes`], the `+`/`-` listings.
//! - [`commit`]: the two-stage commit: [`Candidate`] over a shared [`Running`], commit IDs
//!   from 1000000001, rollback, [`validate`] (rules checked at commit), and [`Store`]
//!   (history on disk, atomic `save`).
//! - [`diff`](mod@diff): [`diff()`](fn@diff) of two configurations into a typed [`ChangeSet`], and [`EFFECTS`],
//!   the one table of which change resets a BGP session; its routing events ([`RouteEvent`])
//!   and the peers and local routes a policy edit reaches ([`ChangeSet::policy_uses`]).
//!
//! Module dependencies, each module followed by the ones it uses (`use crate::...`). Every
//! module uses only modules listed below it, so there is no cycle:
//!
//! ```text
//!  commit  ──▶ session print diff table change model error
//!  session ──▶ vrp table grammar change model view error
//!  print   ──▶ vrp grammar model view
//!  vrp     ──▶ table grammar
//!  table   ──▶ grammar change model value community view error
//!  grammar ──▶ change model value view error
//!  diff    ──▶ model
//!  change  ──▶ model error
//!  view    ──▶ model
//!  model   ──▶ value community bmp
//!  bmp     ──▶ error
//!  value   ──▶ community
//!  community, error
//! ```
//!
//! `grammar` is the token-tree machinery (nodes, matcher, help) and knows no command; `table`
//! fills it with VRP's commands; `vrp` builds it once; `print` and `session` read it from
//! there.
//!
//! Route policies, prefix lists and static routes are modelled ([`RoutePolicy`],
//! [`PrefixList`], [`StaticRoute`]). Lines tern accepts but does not act on yet (OSPF,
//! MPLS/LDP) are kept verbatim with their enclosing view headers in [`Config::kept`];
//! [`Config::kept_report`] gives the once-per-load summary.
//!
//! Loading a file and reading it:
//! ```
//! let cfg = tern_config::parse_file("bgp 100\n peer 4.4.4.9 as-number 200\n#\nreturn\n").unwrap();
//! let peer = cfg.bgp_peer("4.4.4.9".parse().unwrap()).unwrap();
//! assert_eq!(peer.asn.0, 200);
//! ```
//!
//! Editing and committing:
//! ```
//! let mut running = tern_config::Running::new(tern_config::Config::default());
//! let mut cand = running.candidate("root");
//! cand.apply_line("sysname PE1").unwrap();
//! // The prompt shows the running host name until the commit.
//! assert_eq!(cand.prompt(), "[*HUAWEI]");
//! assert_eq!(cand.commit(&mut running, "first").unwrap(), Some(1000000001));
//! assert_eq!(running.config().to_vrp(), "#\nsysname PE1\n#\nreturn\n");
//! ```

pub mod bmp;
pub mod change;
pub mod commit;
pub mod community;
pub mod diff;
pub mod error;
pub mod filter;
pub mod grammar;
pub mod journal;
pub mod model;
pub mod patch;
pub mod print;
pub mod secret;
pub mod session;
mod table;
pub mod text;
pub mod value;
pub mod view;
mod vrp;

pub use change::{AfAttr, AfPeerAttr, Change, Clause, LbKind, PeerScope, SessionAttr};
pub use commit::{
    Candidate, CommitId, CommitKind, CommitRecord, DEFAULT_COMMIT_POINTS, FIRST_COMMIT_ID,
    MAX_COMMIT_POINTS, Opened, Running, Store, validate, write_atomic,
};
pub use community::CommunityValue;
pub use diff::{
    AfField, ChangeSet, Delta, DeltaKind, EFFECTS, Effect, PeerKey, PolicyUse, PolicyUses,
    RouteEvent, SessionField, diff,
};
pub use error::{ConfigError, ErrorKind, Reject};
pub use grammar::{Grammar, SessionCmd};
pub use model::{
    AfKey, AfPeer, Apply, AsPathMode, Bgp, BgpFamily, Config, ConnectInterface, ImportProtocol,
    ImportRoute, Interface, KeptLine, LoadBalancing, Match, MatchMode, Network, Password, Peer,
    PolicyNode, PrefixEntry, PrefixList, RibOnly, RoutePolicy, RtDirection, StaticRoute, Timers,
    VpnAf, VpnInstance,
};
pub use print::changes;
pub use session::{Outcome, Session, parse_file};
pub use value::Written;
pub use view::{Frame, Scope, ViewId};
