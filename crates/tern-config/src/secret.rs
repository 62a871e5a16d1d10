//! Keys in the configuration (`peer X password …`) kept in a cipher form, as VRP keeps them:
//! `%^%#…%^%#`, never the key in clear, in the running configuration, its displays, the
//! saved file and the commit history.
//!
//! The form hides the key from whoever sees a display, a log or a copied file; it is not
//! encryption against someone who holds the file and this program (the daemon has to recover
//! the key to give it to the kernel, so the transformation is reversible without a secret, as
//! VRP's is). Each encoding draws a fresh salt, so one key has many cipher forms; a check
//! value makes a damaged cipher text an error rather than a wrong key.
//!
//! Layout before the text encoding: salt (8 octets), the key XORed with a keystream drawn from
//! the salt, a 16-bit check of the key; the text is base64 (RFC 4648 §4, no padding) between
//! the `%^%#` markers.

/// The markers around a cipher text.
pub const MARK: &str = "%^%#";

/// A fixed mixing constant (the transformation's only "key").
const MIX: u64 = 0x7465_726e_2d6b_6579;

/// True when `s` has the cipher form's markers.
pub fn is_cipher(s: &str) -> bool {
    s.len() >= 2 * MARK.len() && s.starts_with(MARK) && s.ends_with(MARK)
}

/// The cipher form of `key`.
pub fn encode(key: &str) -> String {
    encode_with_salt(key, salt())
}

/// The key a cipher text holds; `None` when it is not one this program wrote, or damaged.
pub fn decode(cipher: &str) -> Option<String> {
    if !is_cipher(cipher) {
        return None;
    }
    let body = cipher.get(MARK.len()..cipher.len() - MARK.len())?;
    let raw = base64_decode(body)?;
    if raw.len() < 10 {
        return None;
    }
    let (salt, rest) = raw.split_at(8);
    let (data, check) = rest.split_at(rest.len() - 2);
    let salt = u64::from_be_bytes(salt.try_into().ok()?);
    let key: Vec<u8> = data
        .iter()
        .zip(keystream(salt))
        .map(|(b, k)| b ^ k)
        .collect();
    (check16(&key) == u16::from_be_bytes([check[0], check[1]]))
        .then(|| String::from_utf8(key).ok())
        .flatten()
}

/// True when `a` and `b` are cipher forms of one key.
pub fn same_key(a: &str, b: &str) -> bool {
    matches!((decode(a), decode(b)), (Some(x), Some(y)) if x == y)
}

fn encode_with_salt(key: &str, salt: u64) -> String {
    let mut raw = salt.to_be_bytes().to_vec();
    raw.extend(key.bytes().zip(keystream(salt)).map(|(b, k)| b ^ k));
    raw.extend_from_slice(&check16(key.as_bytes()).to_be_bytes());
    format!("{MARK}{}{MARK}", base64_encode(&raw))
}

/// A salt: from the kernel's random source, else from the clock and the process.
fn salt() -> u64 {
    use std::io::Read;
    let mut b = [0u8; 8];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .is_ok()
    {
        return u64::from_be_bytes(b);
    }
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    splitmix(t ^ u64::from(std::process::id()))
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn keystream(salt: u64) -> impl Iterator<Item = u8> {
    (0u64..)
        .flat_map(move |i| splitmix(salt ^ MIX ^ i.wrapping_mul(0x1000_0000_01b3)).to_be_bytes())
}

fn check16(b: &[u8]) -> u16 {
    let mut h: u32 = 0x811c_9dc5;
    for x in b {
        h ^= u32::from(*x);
        h = h.wrapping_mul(0x0100_0193);
    }
    (h ^ (h >> 16)) as u16
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_encode(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len().div_ceil(3) * 4);
    for c in b.chunks(3) {
        let n = c
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, x)| n | u32::from(*x) << (16 - 8 * i));
        for i in 0..=c.len() {
            out.push(char::from(B64[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = B64.iter().position(|x| *x == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_come_back_and_never_show() {
        for key in ["a", "tern-Secret1", "Huawei@123", &"k".repeat(255)] {
            let c = encode(key);
            assert!(is_cipher(&c), "{c}");
            assert!(!c.contains(key) || key.len() < 3, "{c}");
            assert_eq!(decode(&c).as_deref(), Some(key));
            // VRP's cipher texts are 20 to 432 characters, without spaces or '?'.
            assert!((20..=432).contains(&c.len()), "{}", c.len());
            assert!(!c.contains([' ', '?', '"']));
            // A fresh salt each time: another form of the same key.
            let d = encode(key);
            assert_ne!(c, d);
            assert!(same_key(&c, &d));
        }
        assert!(!same_key(&encode("a"), &encode("b")));
    }

    #[test]
    fn damaged_or_foreign_cipher_texts_are_refused() {
        let c = encode_with_salt("tern-Secret1", 42);
        let mut b = c.clone().into_bytes();
        b[8] = if b[8] == b'A' { b'B' } else { b'A' };
        assert_eq!(decode(std::str::from_utf8(&b).unwrap()), None);
        assert_eq!(decode("%^%#not base64 at all%^%#"), None);
        assert_eq!(decode("%^%#%^%#"), None);
        assert_eq!(decode("plain"), None);
        assert_eq!(decode(&c).as_deref(), Some("tern-Secret1"));
    }
}
