//! ADTS scanning throughput: the deframer confirming frames in 64 KiB blocks, as a station reads
//! its file (and as `probe` validates one).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use onair_core::testing::{adts_stream, deframe, FrameSpec};

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
    group.bench_function("scan 7.4 MB in 64 KiB blocks", |b| {
        b.iter(|| deframe(&stream, 64 * 1024).len())
    });
    group.finish();
}

criterion_group!(benches, adts_scanning);
criterion_main!(benches);
