//! A git smart-HTTP server for tests: `git http-backend` (CGI) behind HTTP basic
//! authentication, serving the repositories under a folder on a loopback port, stopped
//! on drop.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Response, StatusCode, Uri};
use base64::Engine as _;

pub struct GitHttp {
    pub port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Clone)]
struct Backend {
    root: PathBuf,
    user: String,
    authorization: String,
}

impl GitHttp {
    /// Serves the repositories under `root` to `user` with `password`.
    pub fn start(root: &Path, user: &str, password: &str) -> GitHttp {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let credentials = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        let backend = Backend {
            root: root.to_owned(),
            user: user.to_owned(),
            authorization: format!("Basic {credentials}"),
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let app = axum::Router::new().fallback(
                    move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                        let backend = backend.clone();
                        async move {
                            tokio::task::spawn_blocking(move || {
                                backend.answer(&method, &uri, &headers, &body)
                            })
                            .await
                            .unwrap()
                        }
                    },
                );
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        GitHttp { port, stop: Some(stop), thread: Some(thread) }
    }
}

impl Drop for GitHttp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Backend {
    fn answer(&self, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Response<Body> {
        let authorized =
            headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&self.authorization);
        if !authorized {
            return Response::builder()
                .status(StatusCode::UNAUTHORIZED)
                .header("WWW-Authenticate", "Basic realm=\"git\"")
                .body(Body::empty())
                .unwrap();
        }
        let exec_path = Command::new("git").arg("--exec-path").output().unwrap();
        let backend = Path::new(String::from_utf8(exec_path.stdout).unwrap().trim()).join("git-http-backend");
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let mut child = Command::new(backend)
            .env_clear()
            .env("GIT_PROJECT_ROOT", &self.root)
            .env("GIT_HTTP_EXPORT_ALL", "1")
            .env("PATH_INFO", uri.path())
            .env("QUERY_STRING", uri.query().unwrap_or(""))
            .env("REQUEST_METHOD", method.as_str())
            .env("CONTENT_TYPE", header("content-type"))
            .env("CONTENT_LENGTH", body.len().to_string())
            .env("HTTP_CONTENT_ENCODING", header("content-encoding"))
            .env("REMOTE_USER", &self.user)
            .env("REMOTE_ADDR", "127.0.0.1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Write the request body beside reading the answer, so neither pipe fills up.
        let mut stdin = child.stdin.take().unwrap();
        let body = body.to_vec();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&body);
        });
        let mut output = Vec::new();
        child.stdout.take().unwrap().read_to_end(&mut output).unwrap();
        writer.join().unwrap();
        child.wait().unwrap();

        // CGI: headers, a blank line, the body.
        let (head_len, sep) = match output.windows(4).position(|w| w == b"\r\n\r\n") {
            Some(i) => (i, 4),
            None => (output.windows(2).position(|w| w == b"\n\n").unwrap_or(output.len()), 2),
        };
        let head = String::from_utf8_lossy(&output[..head_len]).into_owned();
        let mut answer = Response::builder().status(StatusCode::OK);
        for line in head.lines() {
            let Some((name, value)) = line.split_once(':') else { continue };
            let value = value.trim();
            if name.eq_ignore_ascii_case("status") {
                let code: u16 = value.split_whitespace().next().and_then(|c| c.parse().ok()).unwrap_or(500);
                answer = answer.status(code);
            } else {
                answer = answer.header(name, value);
            }
        }
        let body = output.get(head_len + sep..).unwrap_or_default().to_vec();
        answer.body(Body::from(body)).unwrap()
    }
}
