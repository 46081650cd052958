//! ADTS scanning throughput: the deframer confirming frames in 64 KiB blocks, as a station reads
//! its file (and as `probe` validates one).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use onair_core::deframer::{Deframer, Next};
use onair_core::testing::{adts_stream, FrameSpec};

fn scan(stream: &[u8]) -> u64 {
    let mut deframer = Deframer::new(0);
    let mut fed = 0;
    let mut frames = 0;
    loop {
        match deframer.peek() {
            Next::Frame(header) => {
                deframer.consume(&header);
                frames += 1;
                if frames % 9 == 0 {
                    drop(deframer.take());
                }
            }
            Next::NeedMore => {
                let n = (64 * 1024).min(stream.len() - fed);
                deframer.input().extend_from_slice(&stream[fed..fed + n]);
                fed += n;
                if fed == stream.len() {
                    deframer.finish();
                }
            }
            Next::End => return frames,
        }
    }
}

fn adts_scanning(c: &mut Criterion) {
    // 128 kb/s at 44.1 kHz is about 370 bytes a frame; 20,000 frames is 7.4 MB (7.7 minutes).
    let stream = adts_stream(
        &FrameSpec {
            payload_len: 364,
            ..FrameSpec::default()
        },
        20_000,
    );
    let mut group = c.benchmark_group("adts");
    group.throughput(Throughput::Bytes(stream.len() as u64));
    group.bench_function("scan 7.4 MB in 64 KiB blocks", |b| b.iter(|| scan(&stream)));
    group.finish();
}

criterion_group!(benches, adts_scanning);
criterion_main!(benches);
