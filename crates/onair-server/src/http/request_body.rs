//! A request body read as it comes, for a live source: close-delimited (HTTP/1.0, and
//! ffmpeg's PUT), `Content-Length`, or chunked (RFC 9112 section 7.1).

use bytes::{Buf, BytesMut};
use http::HeaderMap;
use tokio::io::{AsyncRead, AsyncReadExt};

/// How a request body ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// When the client closes.
    Close,
    /// After this many more bytes.
    Length(u64),
    /// Chunked: in a chunk with this many bytes left, or between chunks (`None`).
    Chunked(Option<u64>),
    /// Over.
    Done,
}

/// Why a body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The socket failed.
    #[error("reading the body: {0}")]
    Io(#[from] std::io::Error),
    /// Chunked framing that does not parse.
    #[error("malformed chunked body")]
    Chunking,
}

/// A request body, read into the caller's buffer.
#[derive(Debug)]
pub struct RequestBody {
    framing: Framing,
    /// Bytes read from the socket not yet decoded (chunk headers in part).
    raw: BytesMut,
}

/// The longest chunk-size line accepted.
const MAX_CHUNK_LINE: usize = 1024;

impl RequestBody {
    /// The body that follows a head with `headers`, starting with `already` (bytes read with
    /// the head).
    pub fn new(headers: &HeaderMap, already: &[u8]) -> RequestBody {
        let chunked = headers
            .get_all(http::header::TRANSFER_ENCODING)
            .iter()
            .any(|v| {
                v.to_str()
                    .is_ok_and(|v| v.to_ascii_lowercase().contains("chunked"))
            });
        let length = headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let framing = match (chunked, length) {
            (true, _) => Framing::Chunked(None),
            (false, Some(length)) => Framing::Length(length),
            (false, None) => Framing::Close,
        };
        RequestBody {
            framing,
            raw: BytesMut::from(already),
        }
    }

    /// How the body ends.
    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// Reads some of the body into `out`: the bytes added, 0 at its end.
    pub async fn read<S: AsyncRead + Unpin>(
        &mut self,
        io: &mut S,
        out: &mut BytesMut,
    ) -> Result<usize, BodyError> {
        loop {
            let added = self.decode(out)?;
            if added > 0 || self.framing == Framing::Done {
                return Ok(added);
            }
            self.raw.reserve(16 * 1024);
            if io.read_buf(&mut self.raw).await? == 0 {
                // A close ends a close-delimited body; any other, cut short, ends too.
                self.framing = Framing::Done;
                return Ok(0);
            }
        }
    }

    /// Moves what `raw` holds of the body into `out`.
    fn decode(&mut self, out: &mut BytesMut) -> Result<usize, BodyError> {
        let before = out.len();
        loop {
            match self.framing {
                Framing::Done => break,
                Framing::Close => {
                    out.extend_from_slice(&self.raw);
                    self.raw.clear();
                    break;
                }
                Framing::Length(left) => {
                    let n = (left as usize).min(self.raw.len());
                    out.extend_from_slice(&self.raw[..n]);
                    self.raw.advance(n);
                    self.framing = if left as usize == n {
                        Framing::Done
                    } else {
                        Framing::Length(left - n as u64)
                    };
                    break;
                }
                Framing::Chunked(Some(0)) => {
                    // The CRLF after a chunk's data.
                    if self.raw.len() < 2 {
                        break;
                    }
                    if &self.raw[..2] != b"\r\n" {
                        return Err(BodyError::Chunking);
                    }
                    self.raw.advance(2);
                    self.framing = Framing::Chunked(None);
                }
                Framing::Chunked(Some(left)) => {
                    if self.raw.is_empty() {
                        break;
                    }
                    let n = (left as usize).min(self.raw.len());
                    out.extend_from_slice(&self.raw[..n]);
                    self.raw.advance(n);
                    self.framing = Framing::Chunked(Some(left - n as u64));
                }
                Framing::Chunked(None) => match httparse::parse_chunk_size(&self.raw) {
                    Ok(httparse::Status::Complete((used, 0))) => {
                        self.raw.advance(used);
                        self.framing = Framing::Done;
                    }
                    Ok(httparse::Status::Complete((used, size))) => {
                        self.raw.advance(used);
                        self.framing = Framing::Chunked(Some(size));
                    }
                    Ok(httparse::Status::Partial) if self.raw.len() < MAX_CHUNK_LINE => break,
                    _ => return Err(BodyError::Chunking),
                },
            }
        }
        Ok(out.len() - before)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read_all(headers: &[(&str, &str)], already: &[u8], rest: &[u8]) -> Vec<u8> {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(
                http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                value.parse().expect("value"),
            );
        }
        let mut body = RequestBody::new(&map, already);
        let mut out = BytesMut::new();
        let mut io = rest;
        while body.read(&mut io, &mut out).await.expect("read") > 0 {}
        out.to_vec()
    }

    #[tokio::test]
    async fn close_delimited_length_and_chunked_bodies() {
        assert_eq!(read_all(&[], b"ab", b"cdef").await, b"abcdef");
        assert_eq!(
            read_all(&[("content-length", "3")], b"ab", b"cdef").await,
            b"abc"
        );
        let chunked = b"4\r\nabcd\r\n2;ext=1\r\nef\r\n0\r\n\r\n";
        for split in 0..chunked.len() {
            assert_eq!(
                read_all(
                    &[("transfer-encoding", "chunked")],
                    &chunked[..split],
                    &chunked[split..]
                )
                .await,
                b"abcdef",
                "split at {split}"
            );
        }
    }
}
