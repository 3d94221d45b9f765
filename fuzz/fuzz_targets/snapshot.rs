#![no_main]
//! Fuzz target: the checkpoint decoder must return Ok or Err on any bytes, never panic, and
//! what it accepts must encode back to the same bytes. The input is tried as it is and with a
//! correct CRC-32 appended, so that the fuzzer reaches the parser behind the checksum.
use libfuzzer_sys::fuzz_target;
use xrisk_data::snapshot::Snapshot;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = Snapshot::decode(data, "fuzz") {
        assert_eq!(s.encode(), data);
    }
    let mut crc = flate2::Crc::new();
    let mut sealed = b"XRISKSNP".to_vec();
    sealed.extend_from_slice(data);
    crc.update(&sealed);
    sealed.extend_from_slice(&crc.sum().to_le_bytes());
    if let Ok(s) = Snapshot::decode(&sealed, "fuzz") {
        assert_eq!(s.encode(), sealed);
    }
});
