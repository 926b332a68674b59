//! Initial passwords for new accounts in directories that require one (Entra ID,
//! Active Directory): random, from the operating system's generator, held as a
//! [`Secret`] so they are never printed, and sent once.

use crate::config::Secret;

/// A random password of `length` characters with lower and upper case letters, digits
/// and symbols (Entra ID and Active Directory want three of the four), from the operating system's generator.
pub fn generate_password(length: usize) -> Result<Secret, getrandom::Error> {
    const CLASSES: [&[u8]; 4] =
        [b"abcdefghijkmnopqrstuvwxyz", b"ABCDEFGHJKLMNPQRSTUVWXYZ", b"23456789", b"!#%+-.:=?@_~"];
    let length = length.max(CLASSES.len());
    // One unbiased random index below `n`, by rejection.
    let mut pool = Vec::new();
    let mut below = |n: usize| -> Result<usize, getrandom::Error> {
        let limit = 256 - 256 % n;
        loop {
            if pool.is_empty() {
                pool = vec![0u8; 64];
                getrandom::fill(&mut pool)?;
            }
            if let Some(byte) = pool.pop()
                && (byte as usize) < limit
            {
                return Ok(byte as usize % n);
            }
        }
    };
    let all: Vec<u8> = CLASSES.concat();
    let mut chars = Vec::with_capacity(length);
    for class in CLASSES {
        chars.push(class[below(class.len())?]);
    }
    while chars.len() < length {
        chars.push(all[below(all.len())?]);
    }
    for i in (1..chars.len()).rev() {
        chars.swap(i, below(i + 1)?);
    }
    Ok(Secret::new(String::from_utf8_lossy(&chars).into_owned()))
}

/// Active Directory's `unicodePwd` value for `password`: the password in double quotes,
/// as UTF-16LE.
pub fn unicode_pwd(password: &Secret) -> Vec<u8> {
    format!("\"{}\"", password.expose()).encode_utf16().flat_map(u16::to_le_bytes).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_have_every_class_and_differ() {
        let a = generate_password(16).unwrap();
        let b = generate_password(16).unwrap();
        assert_ne!(a.expose(), b.expose());
        for p in [a.expose(), b.expose()] {
            assert_eq!(p.len(), 16);
            assert!(p.bytes().any(|c| c.is_ascii_lowercase()), "{}", p.len());
            assert!(p.bytes().any(|c| c.is_ascii_uppercase()));
            assert!(p.bytes().any(|c| c.is_ascii_digit()));
            assert!(p.bytes().any(|c| !c.is_ascii_alphanumeric()));
        }
        assert_eq!(generate_password(2).unwrap().expose().len(), 4);
    }

    #[test]
    fn unicode_pwd_is_quoted_utf16le() {
        assert_eq!(
            unicode_pwd(&Secret::new("aB1".to_owned())),
            vec![b'"', 0, b'a', 0, b'B', 0, b'1', 0, b'"', 0]
        );
    }
}
