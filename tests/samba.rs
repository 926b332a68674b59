//! A real Samba Active Directory domain controller for tests: a throwaway domain
//! (`acme.example`) provisioned by `samba-tool` into a temporary folder, with a CA and
//! server certificate made for the test (Samba's own has no IP address in its names,
//! and rustls refuses it for `127.0.0.1`), running only its LDAP service in one process
//! on loopback, and killed by its process id when dropped.
//!
//! Samba's LDAP ports are fixed (389, 636 and the global catalog's 3268, 3269), so a DC
//! holds a lock for its lifetime: a mutex for the tests of this process and a file lock
//! for other processes (another test binary, a second `cargo test`). Tests that start
//! one run one at a time; provisioning, the slow part, happens before the lock.

use std::fs::File;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::slapd::parse_ldif;

pub const REALM: &str = "ACME.EXAMPLE";
pub const BASE: &str = "DC=acme,DC=example";
pub const ADMIN: &str = "CN=Administrator,CN=Users,DC=acme,DC=example";
/// Complex enough for the domain's default password policy.
pub const PASSWORD: &str = "Admin-test-Passw0rd!";
pub const URL: &str = "ldaps://127.0.0.1:636";
/// The OU `SambaDc::start` makes for the people a test syncs (the example's scope).
pub const STAFF: &str = "OU=Staff,DC=acme,DC=example";

/// The ports Samba's LDAP service listens on, whatever smb.conf says.
const PORTS: [u16; 4] = [389, 636, 3268, 3269];
const LOCK_FILE: &str = "/tmp/hrsync-samba.lock";

static IN_PROCESS: Mutex<()> = Mutex::new(());

pub struct SambaDc {
    child: Child,
    pub dir: tempfile::TempDir,
    // Released after the child is killed (`drop` runs before the fields are dropped).
    _file_lock: File,
    _lock: MutexGuard<'static, ()>,
}

fn need(tool: &str) -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"] {
        let p = Path::new(dir).join(tool);
        if p.is_file() {
            return p;
        }
    }
    panic!(
        "`{tool}` is not installed: install the Debian packages `samba`, `samba-dsdb-modules`, \
         `samba-ad-provision` and `ldap-utils` (scripts/test does)"
    )
}

/// The last lines of a log file, for a panic message.
fn tail(path: &Path, lines: usize) -> String {
    let mut text = String::new();
    if let Ok(mut f) = File::open(path) {
        let _ = f.read_to_string(&mut text);
    }
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

impl SambaDc {
    /// Provisions a domain, starts its DC and waits until LDAPS answers a bind as the
    /// administrator; makes `OU=Staff` under the domain.
    pub fn start() -> SambaDc {
        let started = Instant::now();
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for sub in ["tls", "run", "log"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        crate::certs::write_certificates(&d.join("tls"), "dc01.acme.example");
        let options = [
            "server services = ldap".to_owned(),
            "interfaces = 127.0.0.1".to_owned(),
            "bind interfaces only = yes".to_owned(),
            "tls enabled = yes".to_owned(),
            format!("tls keyfile = {}", d.join("tls/server.key").display()),
            format!("tls certfile = {}", d.join("tls/server.pem").display()),
            format!("tls cafile = {}", d.join("tls/ca.pem").display()),
            format!("pid directory = {}", d.join("run").display()),
            format!("ncalrpc dir = {}", d.join("run/ncalrpc").display()),
            format!("log file = {}", d.join("log/log.%m").display()),
        ];
        let mut provision = Command::new(need("samba-tool"));
        provision
            .args(["domain", "provision", "--server-role=dc", "--dns-backend=NONE", "--use-rfc2307"])
            .arg(format!("--targetdir={}", d.join("dc").display()))
            .args([&format!("--realm={REALM}"), "--domain=ACME", "--host-name=dc01"])
            .arg(format!("--adminpass={PASSWORD}"));
        for o in &options {
            provision.arg(format!("--option={o}"));
        }
        let out = provision.output().unwrap();
        assert!(
            out.status.success(),
            "samba-tool domain provision failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let provisioned = started.elapsed();

        let lock = IN_PROCESS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let file_lock = File::options().create(true).truncate(false).write(true).open(LOCK_FILE).unwrap();
        file_lock.lock().unwrap();
        let locked = Instant::now();
        // A DC left running (or any server on these ports) would answer in ours' place.
        for port in PORTS {
            assert!(
                std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
                "127.0.0.1:{port} is taken, although this process holds {LOCK_FILE}: \
                 stop the server that listens there (a Samba left running?)"
            );
        }

        let log = d.join("samba.log");
        let out = File::create(&log).unwrap();
        let child = Command::new(need("samba"))
            .args(["-i", "-M", "single", "--debuglevel=1", "-s"])
            .arg(d.join("dc/etc/smb.conf"))
            // Samba in the foreground ends when its stdin closes: if this process dies
            // without dropping the DC, the DC goes with it.
            .stdin(Stdio::piped())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        let mut dc = SambaDc { child, dir, _file_lock: file_lock, _lock: lock };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = dc.child.try_wait() {
                panic!(
                    "samba exited ({status}) before it answered on {URL}; its log ends:\n{}",
                    tail(&log, 40)
                );
            }
            // A bound read of the domain's own entry (Samba has no Who am I? operation).
            if dc
                .ldap(&["ldapsearch"], &["-LLL", "-b", BASE, "-s", "base", "(objectClass=*)", "dn"])
                .status
                .success()
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "samba did not answer a bind on {URL} within 60 s; its log ends:\n{}",
                tail(&log, 40)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        dc.add(&format!("dn: {STAFF}\nobjectClass: organizationalUnit\nou: Staff\n"));
        eprintln!(
            "samba: provisioned in {:.1} s, answering {:.1} s after it had the ports",
            provisioned.as_secs_f64(),
            locked.elapsed().as_secs_f64()
        );
        dc
    }

    pub fn url(&self) -> &'static str {
        URL
    }

    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("tls/ca.pem")
    }

    /// Runs an OpenLDAP client tool (`tool[0]`, its other elements the first arguments)
    /// bound as the administrator over LDAPS, trusting the test CA; `rest` follows the
    /// connection arguments.
    fn ldap(&self, tool: &[&str], rest: &[&str]) -> std::process::Output {
        Command::new(need(tool[0]))
            .args(&tool[1..])
            .args(["-x", "-H", URL, "-D", ADMIN, "-w", PASSWORD])
            .args(rest)
            .env("LDAPTLS_CACERT", self.ca())
            .env("LDAPTLS_REQCERT", "demand")
            .output()
            .unwrap()
    }

    /// Runs `samba-tool` on the DC's own database (as an administrator on the DC's
    /// machine would: it reads what LDAP never shows, such as password hashes) and
    /// returns its output.
    pub fn tool(&self, args: &[&str]) -> String {
        let dc = self.dir.path().join("dc");
        let out = Command::new(need("samba-tool"))
            .args(args)
            .arg("-s")
            .arg(dc.join("etc/smb.conf"))
            .arg("-H")
            .arg(dc.join("private/sam.ldb"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "samba-tool {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs `ldapadd` with `ldif` as the administrator (records with a `changetype`
    /// modify or delete).
    pub fn add(&self, ldif: &str) {
        let path = self.dir.path().join("add.ldif");
        std::fs::write(&path, ldif).unwrap();
        let out = self.ldap(&["ldapadd"], &["-f", path.to_str().unwrap()]);
        assert!(out.status.success(), "ldapadd: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// `ldapsearch` as the administrator: each entry's (attribute, value) pairs, its
    /// `dn` first. Referrals (Samba returns some for searches of the whole domain) are
    /// left out.
    pub fn search(&self, base: &str, filter: &str, attrs: &[&str]) -> Vec<Vec<(String, String)>> {
        let mut rest = vec!["-LLL", "-o", "ldif-wrap=no", "-b", base, filter];
        rest.extend_from_slice(attrs);
        let out = self.ldap(&["ldapsearch"], &rest);
        assert!(out.status.success(), "ldapsearch: {}", String::from_utf8_lossy(&out.stderr));
        parse_ldif(&String::from_utf8_lossy(&out.stdout)).into_iter().filter(|e| !e.is_empty()).collect()
    }
}

impl Drop for SambaDc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
