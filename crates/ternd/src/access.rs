//! Who may drive the daemon over its control socket.
//!
//! The socket is created mode 0660, owned by the daemon's user and the control group
//! (`--control-group`, default the daemon's group: `root` when it runs as root); with a read-only group (`--control-readonly-group`)
//! it is 0666 so that its members can connect too. The mode is only the first fence: every
//! request's caller is known from the socket (SO_PEERCRED, `unix(7)`) and checked:
//!
//! - root, the daemon's own user and members of the control group may do everything;
//! - members of the read-only group may run displays (`display …`, `screen-length`) and move
//!   between views, nothing that changes the configuration or the sessions;
//! - anyone else is refused.
//!
//! The commit list records the caller's user name as the system knows it, never a name the
//! client states; a session belongs to the user who opened it.

use std::io;
use std::path::Path;

use nix::unistd::{Gid, Group, Uid, User};
use tern_api::tonic::Status;
use tokio::net::unix::UCred;

/// What a caller may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Everything.
    Admin,
    /// Displays only.
    ReadOnly,
}

/// A caller of the control API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The caller's user ID.
    pub uid: u32,
    /// Its user name (the ID when it has none).
    pub user: String,
    /// What it may do.
    pub role: Role,
}

/// The control socket's access rules.
#[derive(Clone, Debug)]
pub struct Access {
    group: Gid,
    readonly: Option<Gid>,
    daemon: Uid,
}

fn group_named(name: &str) -> Result<Gid, String> {
    if let Ok(n) = name.parse::<u32>() {
        return Ok(Gid::from_raw(n));
    }
    match Group::from_name(name) {
        Ok(Some(g)) => Ok(g.gid),
        Ok(None) => Err(format!("no group named {name}")),
        Err(e) => Err(format!("group {name}: {e}")),
    }
}

impl Default for Access {
    /// The daemon's group (root's when it runs as root), no read-only group.
    fn default() -> Access {
        Access {
            group: Gid::effective(),
            readonly: None,
            daemon: Uid::effective(),
        }
    }
}

impl Access {
    /// The rules for a control group and an optional read-only group (names or numbers).
    pub fn new(group: Option<&str>, readonly: Option<&str>) -> Result<Access, String> {
        Ok(Access {
            group: group.map_or(Ok(Gid::effective()), group_named)?,
            readonly: readonly.map(group_named).transpose()?,
            daemon: Uid::effective(),
        })
    }

    /// Sets the socket's group and mode (right after it is bound).
    pub fn prepare_socket(&self, path: &Path) -> io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        if self.group != Gid::effective() {
            std::os::unix::fs::chown(path, None, Some(self.group.as_raw()))?;
        }
        let mode = if self.readonly.is_some() {
            0o666
        } else {
            0o660
        };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    }

    /// The caller of a request, from the socket's credentials; refused when it may not
    /// use the daemon at all.
    pub fn caller(&self, cred: Option<UCred>) -> Result<Caller, Status> {
        let cred =
            cred.ok_or_else(|| Status::permission_denied("the caller's credentials are unknown"))?;
        let uid = Uid::from_raw(cred.uid());
        let user = User::from_uid(uid).ok().flatten();
        let name = user
            .as_ref()
            .map_or_else(|| cred.uid().to_string(), |u| u.name.clone());
        let groups = groups_of(user.as_ref(), Gid::from_raw(cred.gid()));
        let role = if uid.is_root() || uid == self.daemon || groups.contains(&self.group) {
            Role::Admin
        } else if self.readonly.is_some_and(|g| groups.contains(&g)) {
            Role::ReadOnly
        } else {
            tracing::warn!(uid = cred.uid(), user = %name, pid = ?cred.pid(), "control API: caller refused");
            return Err(Status::permission_denied(format!(
                "user {name} may not use this daemon"
            )));
        };
        Ok(Caller {
            uid: cred.uid(),
            user: name,
            role,
        })
    }
}

/// A user's groups: its primary group (as the socket says) and its supplementary groups.
fn groups_of(user: Option<&User>, primary: Gid) -> Vec<Gid> {
    let mut out = vec![primary];
    if let Some(u) = user
        && let Ok(name) = std::ffi::CString::new(u.name.as_str())
        && let Ok(gs) = nix::unistd::getgrouplist(&name, u.gid)
    {
        out.extend(gs);
    }
    out
}

/// True when a read-only caller may run `cmd` (the line's canonical form `canonical`).
pub fn read_only_allows(cmd: Option<tern_config::SessionCmd>, canonical: &str) -> bool {
    use tern_config::SessionCmd as C;
    match cmd {
        Some(C::Show | C::DisplayCurrent | C::DisplayThis) => true,
        Some(C::SystemView | C::Quit | C::Return) => true,
        Some(C::Operate) => canonical.starts_with("screen-length "),
        Some(C::Manage) => canonical.starts_with("display "),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tern_config::Session;

    fn allowed(line: &str) -> bool {
        let s = Session::terminal(tern_config::Config::default());
        match s.peek(line) {
            Some((cmd, canonical)) => read_only_allows(cmd, &canonical),
            None => true,
        }
    }

    #[test]
    fn read_only_callers_run_displays_only() {
        for ok in [
            "display bgp peer",
            "dis bgp vpnv4 all routing-table",
            "display current-configuration",
            "display configuration commit list",
            "screen-length 0 temporary",
            "system-view",
        ] {
            assert!(allowed(ok), "{ok}");
        }
        for no in [
            "reset bgp all",
            "refresh bgp all export",
            "save",
            "rollback configuration last 1",
            "reset bmp session all",
        ] {
            assert!(!allowed(no), "{no}");
        }
        let mut s = Session::terminal(tern_config::Config::default());
        s.apply_line("system-view").unwrap();
        for no in ["bgp 100", "sysname X", "commit", "undo bgp"] {
            let (cmd, canonical) = s.peek(no).expect(no);
            assert!(!read_only_allows(cmd, &canonical), "{no}");
        }
        // Nothing was applied by looking.
        assert_eq!(s.config(), &tern_config::Config::default());
    }

    #[test]
    fn groups_are_named_or_numbered() {
        assert_eq!(Access::new(None, None).unwrap().group, Gid::effective());
        let a = Access::new(Some("root"), Some("65534")).unwrap();
        assert_eq!(a.readonly, Some(Gid::from_raw(65534)));
        assert!(Access::new(Some("no-such-group-tern"), None).is_err());
    }
}
