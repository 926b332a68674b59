//! A real OpenLDAP `slapd` for tests: configured from scratch in a temporary folder
//! (cn=config loaded with `slapadd`, an mdb database for `dc=acme,dc=example`), listening
//! on free loopback ports for `ldap://` and `ldaps://` with a CA and server certificate
//! made for the test, and killed by its process id when dropped.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const SUFFIX: &str = "dc=acme,dc=example";
pub const ADMIN: &str = "cn=admin,dc=acme,dc=example";
pub const PASSWORD: &str = "admin-test-password";

pub struct Slapd {
    child: Child,
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub tls_port: u16,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn need(tool: &str) -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/sbin"] {
        let p = Path::new(dir).join(tool);
        if p.is_file() {
            return p;
        }
    }
    panic!(
        "`{tool}` is not installed: install the Debian packages `slapd` and `ldap-utils` (scripts/test does)"
    )
}

impl Slapd {
    /// Starts a server with `ou=people`, `ou=disabled` and `ou=services` under the suffix.
    pub fn start() -> Slapd {
        Slapd::start_with("")
    }

    /// [`Slapd::start`], with the `auditlog` overlay writing every change the database
    /// takes to `audit.ldif` (see [`Slapd::audit`]): what a client sent, not only what
    /// the entries hold after.
    pub fn start_audited() -> Slapd {
        Slapd::start_with(
            "\n\
dn: cn=module{1},cn=config\nobjectClass: olcModuleList\ncn: module{1}\nolcModulePath: /usr/lib/ldap\nolcModuleLoad: auditlog\n\n\
dn: olcOverlay={0}auditlog,olcDatabase={1}mdb,cn=config\nobjectClass: olcOverlayConfig\nobjectClass: olcAuditlogConfig\n\
olcOverlay: {0}auditlog\nolcAuditlogFile: AUDIT\n",
        )
    }

    /// The changes written since the server started, as the `auditlog` overlay of
    /// [`Slapd::start_audited`] logs them (LDIF change records).
    pub fn audit(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("audit.ldif")).unwrap_or_default()
    }

    /// Starts a server with `extra` (LDIF, `AUDIT` standing for the audit file's path)
    /// appended to its configuration.
    fn start_with(extra: &str) -> Slapd {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("config")).unwrap();
        std::fs::create_dir_all(d.join("db")).unwrap();
        crate::certs::write_certificates(d, "localhost");
        let config = format!(
            "dn: cn=config\nobjectClass: olcGlobal\ncn: config\nolcPidFile: {d}/slapd.pid\n\
olcTLSCACertificateFile: {d}/ca.pem\nolcTLSCertificateFile: {d}/server.pem\nolcTLSCertificateKeyFile: {d}/server.key\n\n\
dn: cn=module{{0}},cn=config\nobjectClass: olcModuleList\ncn: module{{0}}\nolcModulePath: /usr/lib/ldap\nolcModuleLoad: back_mdb\n\n\
dn: cn=schema,cn=config\nobjectClass: olcSchemaConfig\ncn: schema\n\n\
include: file:///etc/ldap/schema/core.ldif\n\n\
include: file:///etc/ldap/schema/cosine.ldif\n\n\
include: file:///etc/ldap/schema/inetorgperson.ldif\n\n\
include: file://{d}/ad.ldif\n\n\
dn: olcDatabase={{-1}}frontend,cn=config\nobjectClass: olcDatabaseConfig\nobjectClass: olcFrontendConfig\nolcDatabase: {{-1}}frontend\nolcSizeLimit: unlimited\n\n\
dn: olcDatabase={{0}}config,cn=config\nobjectClass: olcDatabaseConfig\nolcDatabase: {{0}}config\nolcAccess: {{0}}to * by * none\n\n\
dn: olcDatabase={{1}}mdb,cn=config\nobjectClass: olcDatabaseConfig\nobjectClass: olcMdbConfig\nolcDatabase: {{1}}mdb\n\
olcDbDirectory: {d}/db\nolcSuffix: {SUFFIX}\nolcRootDN: {ADMIN}\nolcRootPW: {PASSWORD}\nolcDbMaxSize: 1073741824\n\
olcSizeLimit: unlimited\nolcAccess: {{0}}to * by dn.exact=\"cn=reader,ou=services,{SUFFIX}\" read by anonymous auth by * none\n{extra}",
            d = d.display(),
            extra = extra.replace("AUDIT", &d.join("audit.ldif").display().to_string()),
        );
        std::fs::write(d.join("ad.ldif"), AD_SCHEMA).unwrap();
        std::fs::write(d.join("config.ldif"), config).unwrap();
        let base = format!(
            "dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: acme\no: ACME\n\n\
dn: ou=people,{SUFFIX}\nobjectClass: organizationalUnit\nou: people\n\n\
dn: ou=disabled,{SUFFIX}\nobjectClass: organizationalUnit\nou: disabled\n\n\
dn: ou=services,{SUFFIX}\nobjectClass: organizationalUnit\nou: services\n\n\
dn: cn=reader,ou=services,{SUFFIX}\nobjectClass: person\ncn: reader\nsn: reader\nuserPassword: reader-password\n"
        );
        std::fs::write(d.join("base.ldif"), base).unwrap();
        let slapadd = need("slapadd");
        for (n, file) in [("0", "config.ldif"), ("1", "base.ldif")] {
            let out = Command::new(&slapadd)
                .args(["-n", n, "-F"])
                .arg(d.join("config"))
                .arg("-l")
                .arg(d.join(file))
                .output()
                .unwrap();
            assert!(out.status.success(), "slapadd {file}: {}", String::from_utf8_lossy(&out.stderr));
        }
        let slapd = need("slapd");
        for _attempt in 0..5 {
            let (port, tls_port) = (free_port(), free_port());
            let urls = format!("ldap://127.0.0.1:{port}/ ldaps://127.0.0.1:{tls_port}/");
            let mut child = Command::new(&slapd)
                .args(["-h", &urls, "-F"])
                .arg(d.join("config"))
                .args(["-d", "0"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
                    && std::net::TcpStream::connect(("127.0.0.1", tls_port)).is_ok()
                {
                    return Slapd { child, dir, port, tls_port };
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("slapd did not start");
    }

    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    pub fn tls_url(&self) -> String {
        format!("ldaps://127.0.0.1:{}", self.tls_port)
    }

    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// Runs `ldapadd -c` with `ldif` as the administrator; returns how long it took.
    pub fn ldapadd(&self, ldif: &str) -> Duration {
        let path = self.dir.path().join("add.ldif");
        std::fs::write(&path, ldif).unwrap();
        let t = Instant::now();
        let out = Command::new(need("ldapadd"))
            .args(["-x", "-c", "-H", &self.url(), "-D", ADMIN, "-w", PASSWORD, "-f"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(out.status.success(), "ldapadd: {}", String::from_utf8_lossy(&out.stderr));
        t.elapsed()
    }

    /// `ldapsearch` of the whole suffix as LDIF (attributes sorted by the server).
    pub fn search(&self, base: &str, filter: &str, attrs: &[&str]) -> Vec<Vec<(String, String)>> {
        let out = Command::new(need("ldapsearch"))
            .args([
                "-x",
                "-LLL",
                "-o",
                "ldif-wrap=no",
                "-H",
                &self.url(),
                "-D",
                ADMIN,
                "-w",
                PASSWORD,
                "-b",
                base,
                filter,
            ])
            .args(attrs)
            .output()
            .unwrap();
        assert!(out.status.success(), "ldapsearch: {}", String::from_utf8_lossy(&out.stderr));
        parse_ldif(&String::from_utf8_lossy(&out.stdout))
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// LDIF records as (attribute, value) lists; base64 values are decoded.
pub fn parse_ldif(text: &str) -> Vec<Vec<(String, String)>> {
    use base64::Engine as _;
    let mut out = Vec::new();
    for record in text.split("\n\n").filter(|r| !r.trim().is_empty()) {
        let mut attrs = Vec::new();
        for line in record.lines() {
            if let Some((k, v)) = line.split_once(":: ") {
                let bytes = base64::engine::general_purpose::STANDARD.decode(v.trim()).unwrap();
                // Binary values (unicodePwd) stay base64, marked.
                let value = String::from_utf8(bytes).unwrap_or_else(|_| format!("base64:{}", v.trim()));
                attrs.push((k.to_owned(), value));
            } else if let Some((k, v)) = line.split_once(": ") {
                attrs.push((k.to_owned(), v.to_owned()));
            } else if let Some(k) = line.strip_suffix(':') {
                // An empty value (the empty DN of a group's placeholder member).
                attrs.push((k.to_owned(), String::new()));
            }
        }
        out.push(attrs);
    }
    out
}

/// The attributes and object class of an Active Directory user, so the AD flavour can
/// be tested against a real server (OIDs from Microsoft's schema).
const AD_SCHEMA: &str = "dn: cn=ad,cn=schema,cn=config\nobjectClass: olcSchemaConfig\ncn: ad\n\
olcAttributeTypes: ( 1.2.840.113556.1.4.221 NAME 'sAMAccountName' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )\n\
olcAttributeTypes: ( 1.2.840.113556.1.4.656 NAME 'userPrincipalName' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )\n\
olcAttributeTypes: ( 1.2.840.113556.1.4.8 NAME 'userAccountControl' EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )\n\
olcAttributeTypes: ( 1.2.840.113556.1.4.159 NAME 'accountExpires' EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )\n\
olcAttributeTypes: ( 1.2.840.113556.1.4.35 NAME 'employeeID' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )\n\
olcAttributeTypes: ( 1.2.840.113556.1.2.141 NAME 'department' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )\n\
olcAttributeTypes: ( 1.2.840.113556.1.2.146 NAME 'company' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )\n\
olcAttributeTypes: ( 1.2.840.113556.1.4.90 NAME 'unicodePwd' SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 SINGLE-VALUE )\n\
olcAttributeTypes: ( 1.2.840.113556.1.4.96 NAME 'pwdLastSet' EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )\n\
olcObjectClasses: ( 1.2.840.113556.1.5.9 NAME 'user' SUP organizationalPerson STRUCTURAL MAY ( sAMAccountName $ userPrincipalName $ userAccountControl $ accountExpires $ mail $ displayName $ givenName $ employeeNumber $ employeeID $ manager $ department $ title $ telephoneNumber $ company $ unicodePwd $ pwdLastSet ) )\n";
