//! Errors of the FIB operations.

use std::io;

/// What went wrong talking to the kernel.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The netlink socket could not be opened or set up.
    #[error("netlink socket: {0}")]
    Socket(#[source] io::Error),
    /// The socket needs a tokio runtime to run on, and there is none on this thread.
    #[error("the netlink socket needs a tokio runtime, and none is running on this thread")]
    NoRuntime,
    /// The kernel refused a request, or the exchange failed.
    #[error("{op} {what}: {}", describe(.source))]
    Netlink {
        /// The operation (`add`, `replace`, `delete`, `dump`).
        op: &'static str,
        /// Its object (a prefix and table).
        what: String,
        /// The netlink error.
        #[source]
        source: rtnetlink::Error,
    },
    /// The request cannot be expressed (a gateway of the other family for an IPv6 route, no
    /// next hop, a label beyond 20 bits).
    #[error("invalid route: {0}")]
    Invalid(String),
}

impl Error {
    /// The errno the kernel answered with (positive: `libc::EEXIST`, `libc::ESRCH`, ...), if
    /// the kernel refused the request.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Netlink {
                source: rtnetlink::Error::NetlinkError(message),
                ..
            } => message.code.map(|code| code.get().abs()),
            Error::Socket(e) => e.raw_os_error(),
            _ => None,
        }
    }
}

/// The kernel's errno as text ("File exists (os error 17)") rather than rtnetlink's wrapper.
fn describe(source: &rtnetlink::Error) -> String {
    match source {
        rtnetlink::Error::NetlinkError(message) => message.to_io().to_string(),
        other => other.to_string(),
    }
}
