//! A bare keep-alive HTTP/1.1 GET for load generation, the way `wrk` drives a server: the
//! request is rendered once, written whole per lookup, and the answer's head parsed with
//! `httparse`. No pool, no URL parsing, no tasks between the caller and the socket, so the
//! load costs less than any server it measures; with hyper's client connection (a task
//! and a channel per request) the load took as much CPU as the server on two cores, and
//! every server looked alike.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// The most response headers read (the fakes and wiremock send fewer than ten).
const MAX_HEADERS: usize = 32;

/// `GET path` with `Host` and `Authorization`, as bytes ready to write.
pub fn get_request(host: &str, path: &str, authorization: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nhost: {host}\r\nauthorization: {authorization}\r\n\r\n")
        .into_bytes()
}

/// One keep-alive connection answering the same request again and again.
#[derive(Debug)]
pub struct Connection {
    tcp: TcpStream,
    /// Read but not yet handed out; starts with the last answer until the next `get`.
    buf: Vec<u8>,
    /// Length of the last answer at the front of `buf`.
    last: usize,
}

impl Connection {
    /// Connects to `addr` with `TCP_NODELAY`.
    ///
    /// # Errors
    /// The connect error, with the address.
    pub async fn open(addr: SocketAddr) -> Result<Self, String> {
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect {addr}: {e}"))?;
        tcp.set_nodelay(true).map_err(|e| e.to_string())?;
        Ok(Self {
            tcp,
            buf: Vec::with_capacity(8 * 1024),
            last: 0,
        })
    }

    /// Writes `request` (a whole HTTP/1.1 request, see [`get_request`]) and reads its
    /// answer; returns the body.
    ///
    /// # Errors
    /// An I/O error, the connection closed, an unparsable head, an answer without
    /// `Content-Length`, or a status other than 2xx or an empty body (with the body).
    /// The connection is then unusable: open another.
    pub async fn get(&mut self, request: &[u8]) -> Result<&[u8], String> {
        self.buf.drain(..self.last);
        self.last = 0;
        self.tcp
            .write_all(request)
            .await
            .map_err(|e| format!("write: {e}"))?;
        let (status, head, body) = loop {
            if let Some(parsed) = parse_head(&self.buf)? {
                break parsed;
            }
            self.fill().await?;
        };
        while self.buf.len() < head + body {
            self.fill().await?;
        }
        self.last = head + body;
        let answer = &self.buf[head..head + body];
        if !(200..300).contains(&status) || body == 0 {
            return Err(format!("{status}: {}", String::from_utf8_lossy(answer)));
        }
        Ok(answer)
    }

    async fn fill(&mut self) -> Result<(), String> {
        if self.buf.capacity() - self.buf.len() < 4096 {
            self.buf.reserve(8 * 1024);
        }
        let read = self
            .tcp
            .read_buf(&mut self.buf)
            .await
            .map_err(|e| format!("read: {e}"))?;
        if read == 0 {
            return Err("connection closed by the server".into());
        }
        Ok(())
    }
}

/// `(status, head length, Content-Length)` once `buf` holds a whole response head.
fn parse_head(buf: &[u8]) -> Result<Option<(u16, usize, usize)>, String> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let head = match response.parse(buf) {
        Ok(httparse::Status::Complete(head)) => head,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(format!("response head: {e}")),
    };
    let status = response.code.unwrap_or(0);
    let length = response
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .ok_or("an answer without Content-Length (chunked answers are not read)")?;
    let length = std::str::from_utf8(length.value)
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .ok_or("an unreadable Content-Length")?;
    Ok(Some((status, head, length)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_read_whole_or_not_at_all() {
        let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\ncontent-type: a\r\n\r\n{}";
        assert_eq!(parse_head(answer), Ok(Some((200, answer.len() - 2, 2))));
        assert_eq!(parse_head(&answer[..20]), Ok(None));
        let chunked = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
        assert!(parse_head(chunked).unwrap_err().contains("Content-Length"));
        assert!(parse_head(b"HTTP/1.1 200 OK\r\ncontent-length: x\r\n\r\n").is_err());
        assert!(parse_head(b"garbage\r\n\r\n").is_err());
    }

    #[tokio::test]
    async fn reads_answers_split_anywhere_and_refuses_errors() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut tcp, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 1024];
            let answers: [&[u8]; 2] = [
                b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello",
                b"HTTP/1.1 404 Not Found\r\ncontent-length: 4\r\n\r\nnope",
            ];
            for answer in answers {
                let _ = tcp.read(&mut request).await.unwrap();
                // Sent in three pieces: inside the head, at its end, inside the body.
                for piece in [
                    &answer[..10],
                    &answer[10..answer.len() - 3],
                    &answer[answer.len() - 3..],
                ] {
                    tcp.write_all(piece).await.unwrap();
                    tcp.flush().await.unwrap();
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                }
            }
        });
        let request = get_request(&addr.to_string(), "/x", "Basic y");
        let mut connection = Connection::open(addr).await.unwrap();
        assert_eq!(connection.get(&request).await.unwrap(), b"hello");
        assert_eq!(connection.get(&request).await.unwrap_err(), "404: nope");
        assert!(
            connection
                .get(&request)
                .await
                .unwrap_err()
                .contains("closed")
        );
    }
}
