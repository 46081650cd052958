//! Reading a request head, for the direct path that writes endless responses itself; anything
//! it does not serve goes to hyper with the bytes already read.
//!
//! hyper keeps an 8 KiB read buffer and an 8 KiB header buffer for the life of every
//! connection. For a page that is nothing; for a radio listener connected for hours it is most
//! of what the listener costs (16 KiB x 19,000 listeners = 300 MiB). So each connection's request
//! head is read here first, into a small buffer freed once parsed; hyper is handed the bytes
//! already read (through [`Rewind`]) when the request is not a stream.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http::{Request, Version};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The longest request head served, here and by hyper (which answers 431 beyond it).
pub const MAX_HEAD: usize = 16 * 1024;
/// Headers parsed here; more go to hyper.
const MAX_HEADERS: usize = 48;

/// What [`read_head`] read.
#[derive(Debug)]
pub enum Head {
    /// A whole head of `len` bytes at the start of `bytes`; whatever follows it was pipelined.
    Complete {
        /// Everything read.
        bytes: BytesMut,
        /// The head's length, its blank line included.
        len: usize,
    },
    /// `limit` bytes without the end of a head.
    TooLarge(BytesMut),
    /// The client closed, or the connection failed, before the head ended.
    Gone,
}

/// Reads until the blank line that ends a request head: CRLF CRLF, or bare LF line endings as
/// RFC 9112 section 2.2 allows (httparse and hyper accept them too). Each read is scanned once,
/// so a head trickled in byte by byte costs no more than one sent at once. The client may
/// half-close its side once the head is sent: the head is complete, and it is served.
pub async fn read_head<S: AsyncRead + Unpin>(io: &mut S, limit: usize) -> Head {
    let mut bytes = BytesMut::with_capacity(1024);
    let mut scanned = 0;
    loop {
        if let Some(len) = head_end(&bytes, scanned) {
            return Head::Complete { bytes, len };
        }
        // The end may straddle reads: keep the last two bytes for the next scan.
        scanned = bytes.len().saturating_sub(2);
        if bytes.len() >= limit {
            return Head::TooLarge(bytes);
        }
        bytes.reserve(1024.min(limit - bytes.len()));
        match tokio::io::AsyncReadExt::read_buf(io, &mut bytes).await {
            Ok(0) | Err(_) => return Head::Gone,
            Ok(_) => {}
        }
    }
}

/// The length of the head ending in `bytes`, looking for its blank line from `from` on.
fn head_end(bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(i) = bytes.get(at..)?.iter().position(|&b| b == b'\n') {
        let lf = at + i;
        match bytes.get(lf + 1..) {
            Some([b'\n', ..]) => return Some(lf + 2),
            Some([b'\r', b'\n', ..]) => return Some(lf + 3),
            _ => at = lf + 1,
        }
    }
    None
}

/// The request in `head` if it is a clean `GET` or `HEAD` (what the direct path serves), with
/// its path (query left out: web players add cache-busting queries, `/jazz?t=1700000000`).
pub fn parse_get(head: &[u8]) -> Option<Request<()>> {
    parse_request(head)
        .filter(|r| r.method() == http::Method::GET || r.method() == http::Method::HEAD)
}

/// The request in `head`, whatever its method (Icecast's `SOURCE` among them), if it parses.
pub fn parse_request(head: &[u8]) -> Option<Request<()>> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    if !matches!(parsed.parse(head), Ok(httparse::Status::Complete(_))) {
        return None;
    }
    let method = parsed.method?;
    let path = parsed.path?;
    let mut request =
        Request::builder()
            .method(method)
            .uri(path)
            .version(if parsed.version == Some(0) {
                Version::HTTP_10
            } else {
                Version::HTTP_11
            });
    for header in parsed.headers.iter() {
        request = request.header(header.name, header.value);
    }
    request.body(()).ok()
}

/// An IO stream that first yields bytes already read from it (for hyper, after the head was
/// read here).
pub struct Rewind<S> {
    prefix: Bytes,
    inner: S,
}

impl<S> Rewind<S> {
    /// `inner`, preceded by `prefix`.
    pub fn new(prefix: Bytes, inner: S) -> Self {
        Rewind { prefix, inner }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Rewind<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.prefix.is_empty() {
            let n = this.prefix.len().min(buf.remaining());
            buf.put_slice(&this.prefix.split_to(n));
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Rewind<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    async fn head_of(bytes: &[u8]) -> Head {
        let mut io = bytes;
        read_head(&mut io, 1024).await
    }

    fn complete(head: Head) -> (Vec<u8>, usize) {
        match head {
            Head::Complete { bytes, len } => (bytes.to_vec(), len),
            other => panic!("expected a complete head, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn crlf_and_bare_lf_heads() {
        let crlf = b"GET /jazz HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_eq!(complete(head_of(crlf).await).1, crlf.len());
        let lf = b"GET /healthz HTTP/1.1\nHost: x\n\n";
        assert_eq!(complete(head_of(lf).await).1, lf.len());
        let mixed = b"GET / HTTP/1.0\r\nHost: x\n\r\n";
        assert_eq!(complete(head_of(mixed).await).1, mixed.len());
    }

    #[tokio::test]
    async fn pipelined_bytes_after_the_head_are_kept_apart() {
        let (bytes, len) =
            complete(head_of(b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n").await);
        assert_eq!(&bytes[..len], b"GET /a HTTP/1.1\r\n\r\n");
        assert_eq!(&bytes[len..], b"GET /b HTTP/1.1\r\n\r\n");
    }

    #[tokio::test]
    async fn a_head_trickled_byte_by_byte() {
        let head = b"GET /jazz HTTP/1.1\r\nHost: x\r\nIcy-MetaData: 1\r\n\r\n";
        let (mut client, mut server) = tokio::io::duplex(64);
        let writer = tokio::spawn(async move {
            for byte in head {
                client.write_all(&[*byte]).await.expect("write");
                tokio::task::yield_now().await;
            }
            client
        });
        let (bytes, len) = complete(read_head(&mut server, 1024).await);
        assert_eq!(&bytes[..len], head);
        drop(writer.await.expect("writer"));
    }

    #[tokio::test]
    async fn a_half_close_after_the_head_is_served_and_half_a_head_is_not() {
        // `&[u8]` ends (reads 0) right after the bytes: a client that shut down its side.
        let (_, len) = complete(head_of(b"GET /jazz HTTP/1.0\r\n\r\n").await);
        assert_eq!(len, 22);
        assert!(matches!(
            head_of(b"GET /jazz HTTP/1.0\r\nHo").await,
            Head::Gone
        ));
        assert!(matches!(head_of(b"").await, Head::Gone));
    }

    #[tokio::test]
    async fn an_oversized_head_stops_at_the_limit() {
        let long = [b'a'; 5000];
        match head_of(&long).await {
            Head::TooLarge(bytes) => assert!(bytes.len() >= 1024 && bytes.len() < 2048),
            other => panic!("expected TooLarge, got {other:?}"),
        }
    }

    #[test]
    fn the_end_is_found_across_reads() {
        let head = b"GET / HTTP/1.1\r\n\r\n";
        // Scanning from any earlier resume point finds the same end.
        for from in 0..head.len() - 2 {
            assert_eq!(head_end(head, from), Some(head.len()), "from {from}");
        }
        assert_eq!(head_end(b"GET / HTTP/1.1\r\n", 0), None);
    }
}
