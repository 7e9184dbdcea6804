//! Reading canonical state bytes: fixed-size little-endian fields, every read checked, so a
//! truncated or padded state is an error value (state bytes may come from a page's code).

use crate::env::EnvError;

pub(crate) struct StateReader<'a>(&'a [u8]);

impl<'a> StateReader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self(bytes)
    }

    pub(crate) fn take<const N: usize>(&mut self) -> Result<[u8; N], EnvError> {
        let (head, rest) = self.0.split_first_chunk::<N>().ok_or(EnvError::Truncated)?;
        self.0 = rest;
        Ok(*head)
    }

    pub(crate) fn i32(&mut self) -> Result<i32, EnvError> {
        self.take().map(i32::from_le_bytes)
    }

    pub(crate) fn u32(&mut self) -> Result<u32, EnvError> {
        self.take().map(u32::from_le_bytes)
    }

    pub(crate) fn u64(&mut self) -> Result<u64, EnvError> {
        self.take().map(u64::from_le_bytes)
    }

    /// Every byte was read.
    pub(crate) fn finish(self) -> Result<(), EnvError> {
        match self.0.len() {
            0 => Ok(()),
            n => Err(EnvError::Trailing(n)),
        }
    }
}
