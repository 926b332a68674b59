//! An OpenSSH server for tests: `/usr/sbin/sshd` on a loopback port with a host key and
//! one authorized user key of its own, serving git over SSH (`git-upload-pack` and
//! `git-receive-pack` of the machine) to the current user. Stopped on drop.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::util::KillOnDrop;

pub struct SshServer {
    _process: KillOnDrop,
    pub port: u16,
    /// The folder holding the keys and the config.
    pub dir: tempfile::TempDir,
    /// The current user, the only one who may log in.
    pub user: String,
}

/// Makes an ed25519 key pair without a passphrase at `path` (and `path.pub`).
pub fn keygen(path: &Path) {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", ""])
        .arg("-f")
        .arg(path)
        .status()
        .expect("ssh-keygen runs (Debian package openssh-client)");
    assert!(status.success());
}

impl SshServer {
    pub fn start() -> SshServer {
        let sshd = Path::new("/usr/sbin/sshd");
        assert!(sshd.is_file(), "sshd is missing: scripts/test installs openssh-server");
        assert!(
            Path::new("/run/sshd").is_dir(),
            "sshd needs its privilege separation folder /run/sshd: scripts/test makes it"
        );
        let dir = tempfile::tempdir().unwrap();
        keygen(&dir.path().join("host_key"));
        keygen(&dir.path().join("user_key"));
        std::fs::copy(dir.path().join("user_key.pub"), dir.path().join("authorized_keys")).unwrap();
        let user = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout).unwrap();
        let user = user.trim().to_owned();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let d = dir.path().display();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nPidFile {d}/sshd.pid\n\
             AuthorizedKeysFile {d}/authorized_keys\nStrictModes no\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\nPubkeyAuthentication yes\nPermitRootLogin prohibit-password\n\
             UsePAM no\nAllowUsers {user}\n"
        );
        std::fs::write(dir.path().join("sshd_config"), config).unwrap();
        let process = KillOnDrop(
            Command::new(sshd)
                .args(["-D", "-e", "-f"])
                .arg(dir.path().join("sshd_config"))
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        crate::daemon::eventually("sshd", || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
        SshServer { _process: process, port, dir, user }
    }

    /// The private key the server accepts.
    pub fn user_key(&self) -> PathBuf {
        self.dir.path().join("user_key")
    }

    /// A home folder whose `~/.ssh/known_hosts` knows this server's host key.
    pub fn home_that_knows_it(&self, home: &Path) {
        let key = std::fs::read_to_string(self.dir.path().join("host_key.pub")).unwrap();
        std::fs::create_dir_all(home.join(".ssh")).unwrap();
        std::fs::write(home.join(".ssh/known_hosts"), format!("[127.0.0.1]:{} {key}", self.port)).unwrap();
    }
}
