//! The little-endian layout shared by what duplicate detection stores (a
//! [fingerprint](super::Fingerprint), the [document
//! frequencies](super::DocFreqTable)) and the error of reading it back. Its
//! own module so that the modules that store things depend on it, not on
//! each other.

/// A stored fingerprint (or statistics table) that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("fingerprint truncated")]
    Truncated,
    #[error("{0} bytes after the fingerprint")]
    Trailing(usize),
    #[error("unknown fingerprint version {0}")]
    Version(u16),
}

/// Appends a length as the `u32` that precedes a list.
pub(super) fn put_len(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&(n as u32).to_le_bytes());
}

/// Reads fixed-size values off the front of `bytes`.
pub(super) struct Reader<'a> {
    pub(super) bytes: &'a [u8],
}

impl Reader<'_> {
    pub(super) fn take<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let (head, rest) = self.bytes.split_first_chunk::<N>().ok_or(DecodeError::Truncated)?;
        self.bytes = rest;
        Ok(*head)
    }

    pub(super) fn skip(&mut self, n: usize) -> Result<(), DecodeError> {
        self.bytes = self.bytes.get(n..).ok_or(DecodeError::Truncated)?;
        Ok(())
    }

    /// A list's length (a `u32`).
    pub(super) fn len(&mut self) -> Result<usize, DecodeError> {
        let n = u32::from_le_bytes(self.take::<4>()?) as usize;
        // Every element is at least 4 bytes: a longer count is corrupt.
        if n > self.bytes.len() / 4 {
            return Err(DecodeError::Truncated);
        }
        Ok(n)
    }
}
