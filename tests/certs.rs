//! Test certificates: the servers the tests start (slapd, Samba) serve TLS with them.

use std::path::Path;

/// A CA (`ca.pem`) and a server certificate (`server.pem`, named `common_name`, for
/// `localhost` and `127.0.0.1`, which rustls wants as an IP SAN) with its key
/// (`server.key`, private to its owner, as Samba insists) in `dir`.
pub fn write_certificates(dir: &Path, common_name: &str) {
    use std::os::unix::fs::PermissionsExt as _;

    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair, SanType};
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(rcgen::DnType::CommonName, "hrsync test CA");
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let mut server = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    server.subject_alt_names.push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
    server.distinguished_name.push(rcgen::DnType::CommonName, common_name);
    let key = KeyPair::generate().unwrap();
    let cert = server.signed_by(&key, &ca).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("server.pem"), cert.pem()).unwrap();
    let key_file = dir.join("server.key");
    std::fs::write(&key_file, key.serialize_pem()).unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
}
