//! A TCP socket that can move from one runtime to another under a TLS session.
//!
//! A plain connection is opened on the front runtime and then handed to the main one by taking
//! its socket off one IO driver and registering it with the other. A TLS session owns its
//! socket, so the socket under it must be able to do the same from inside the session: it
//! leaves the front runtime's driver there, and arrives at the main one's in the task that
//! carries the connection on. Between the two, it is never read or written.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// A TCP socket registered with a runtime, or on its way between two.
#[derive(Debug)]
pub struct MovableTcp(Place);

#[derive(Debug)]
enum Place {
    /// Registered with the current runtime's IO driver.
    Here(TcpStream),
    /// Taken off one driver, not yet registered with another.
    Away(std::net::TcpStream),
    /// Lost in a failed move.
    Gone,
}

impl MovableTcp {
    /// `stream`, registered where it is.
    pub fn new(stream: TcpStream) -> Self {
        MovableTcp(Place::Here(stream))
    }

    /// The socket, while it is registered.
    pub fn tcp(&self) -> Option<&TcpStream> {
        match &self.0 {
            Place::Here(stream) => Some(stream),
            _ => None,
        }
    }

    /// Takes the socket off the current runtime's IO driver.
    pub fn leave(&mut self) -> io::Result<()> {
        match std::mem::replace(&mut self.0, Place::Gone) {
            Place::Here(stream) => {
                self.0 = Place::Away(stream.into_std()?);
                Ok(())
            }
            other => {
                self.0 = other;
                Err(not_here())
            }
        }
    }

    /// Registers the socket with the current runtime's IO driver.
    pub fn arrive(&mut self) -> io::Result<()> {
        match std::mem::replace(&mut self.0, Place::Gone) {
            Place::Away(stream) => {
                self.0 = Place::Here(TcpStream::from_std(stream)?);
                Ok(())
            }
            other => {
                self.0 = other;
                Err(io::Error::other(
                    "the socket is not on its way between runtimes",
                ))
            }
        }
    }

    fn here(&mut self) -> io::Result<Pin<&mut TcpStream>> {
        match &mut self.0 {
            Place::Here(stream) => Ok(Pin::new(stream)),
            _ => Err(not_here()),
        }
    }
}

fn not_here() -> io::Error {
    io::Error::other("the socket is between runtimes")
}

impl AsyncRead for MovableTcp {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut().here() {
            Ok(stream) => stream.poll_read(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

impl AsyncWrite for MovableTcp {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut().here() {
            Ok(stream) => stream.poll_write(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut().here() {
            Ok(stream) => stream.poll_write_vectored(cx, bufs),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().here() {
            Ok(stream) => stream.poll_flush(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().here() {
            Ok(stream) => stream.poll_shutdown(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn a_socket_moved_to_another_runtime_keeps_its_bytes() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let mut client = TcpStream::connect(listener.local_addr().expect("addr"))
            .await
            .expect("connect");
        let (accepted, _) = listener.accept().await.expect("accept");
        let mut socket = MovableTcp::new(accepted);
        client.write_all(b"before").await.expect("write");
        socket.leave().expect("leave");
        // Between runtimes it is neither read nor written, and says why.
        let mut buf = [0u8; 6];
        let error = socket.read(&mut buf).await.expect_err("away");
        assert!(error.to_string().contains("between runtimes"));
        client.write_all(b" after").await.expect("write");
        let other = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let (socket, got) = std::thread::spawn(move || {
            other.block_on(async move {
                socket.arrive().expect("arrive");
                let mut got = vec![0u8; 12];
                socket.read_exact(&mut got).await.expect("read");
                socket.write_all(b"ok").await.expect("write back");
                (socket, got)
            })
        })
        .join()
        .expect("other runtime");
        assert_eq!(got, b"before after");
        let mut back = [0u8; 2];
        client.read_exact(&mut back).await.expect("read back");
        assert_eq!(&back, b"ok");
        drop(socket);
    }
}
