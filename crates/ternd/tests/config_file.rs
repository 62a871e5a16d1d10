//! A configuration file that is not UTF-8 text is refused at start with the line and column of
//! the first octet that is not, and nothing runs.

use std::process::Command;

#[test]
fn a_file_that_is_not_utf8_is_refused_with_its_line() {
    let dir = std::env::temp_dir().join(format!("tern-cfgfile-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("r.cfg");
    let mut text = b"sysname R\n#\nbgp 100\n router-id 10.0.0.1\n peer 10.0.0.2 as-number 200\n peer 10.0.0.2 description Gen".to_vec();
    text.extend_from_slice(&[0xe8, b'v', b'e', b'\n', b'#', b'\n']);
    std::fs::write(&cfg, &text).unwrap();
    let sock = dir.join("r.sock");
    let out = Command::new(env!("CARGO_BIN_EXE_ternd"))
        .arg("--config")
        .arg(&cfg)
        .arg("--control")
        .arg(&sock)
        .args(["--listen", "127.0.0.1:0", "--no-fib"])
        .output()
        .expect("ternd runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "{}: line 6, column 31: not UTF-8 text (octet 0xe8)",
            cfg.display()
        )),
        "{err}"
    );
    assert!(!sock.exists(), "nothing runs");
    let _ = std::fs::remove_dir_all(&dir);
}
