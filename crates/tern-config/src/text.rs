//! Reading a configuration file: UTF-8 text, refused with the line and column of the first
//! octet that is not.

use std::path::Path;

/// `bytes` as text, or where they stop being UTF-8 (`line N, column C: …`, both from 1).
pub fn decode(bytes: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(bytes).map_err(|e| {
        let ok = bytes.get(..e.valid_up_to()).unwrap_or_default();
        let line = ok.iter().filter(|b| **b == b'\n').count() + 1;
        let start = ok.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        // Columns in characters: the part of the line before is valid UTF-8.
        let column = std::str::from_utf8(ok.get(start..).unwrap_or_default())
            .map_or(0, |s| s.chars().count())
            + 1;
        let octet = bytes.get(e.valid_up_to()).copied().unwrap_or(0);
        format!("line {line}, column {column}: not UTF-8 text (octet 0x{octet:02x})")
    })
}

/// The text of the file at `path` (errors name the file).
pub fn read(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    decode(&bytes)
        .map(str::to_owned)
        .map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_bad_octet_is_located() {
        assert_eq!(decode(b"sysname A\n#\n").unwrap(), "sysname A\n#\n");
        let e = decode(b"sysname A\n#\nbgp 100\n peer 10.0.0.2 description caf\xe9\n").unwrap_err();
        assert_eq!(e, "line 4, column 31: not UTF-8 text (octet 0xe9)", "{e}");
        // Characters before it on its line count once each.
        let mut b = "é\u{20ac}\n\u{20ac}x".as_bytes().to_vec();
        b.push(0xff);
        let e = decode(&b).unwrap_err();
        assert!(e.starts_with("line 2, column 3:"), "{e}");
        let e = decode(b"\xff").unwrap_err();
        assert!(e.starts_with("line 1, column 1:"), "{e}");
    }
}
