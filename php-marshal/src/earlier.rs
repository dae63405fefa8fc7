//! Values that data names again: PHP writes an array or object that appears twice in a value
//! (the same object, an array assigned to two places, PHP's one empty array) once, and the
//! second time as "the value numbered n". As data, the second is a copy of the first.

use crate::error::{Error, Result};
use crate::serialize::MAX_DEPTH;
use crate::value::Value;

/// Copies may add at most this many values to what a reader returns: data that names
/// earlier values inside earlier values can grow exponentially with its size.
const COPY_BUDGET: usize = 1_000_000;

/// Where each numbered value of the input starts, and which are still being read.
#[derive(Default)]
pub(crate) struct Earlier {
    starts: Vec<usize>,
    open: Vec<bool>,
    /// How many copies are being read, one inside another: while one is, nothing is
    /// numbered (the values were numbered when first read).
    copying: u32,
    spent: usize,
}

impl Earlier {
    /// Numbers the value starting at `start`, unless it is being read again as a copy.
    pub(crate) fn number(&mut self, start: usize) -> Option<usize> {
        if self.copying > 0 {
            return None;
        }
        self.starts.push(start);
        self.open.push(true);
        Some(self.starts.len() - 1)
    }

    /// The value numbered `id` has been read.
    pub(crate) fn close(&mut self, id: Option<usize>) {
        if let Some(open) = id.and_then(|id| self.open.get_mut(id)) {
            *open = false;
        }
    }

    /// Where the value numbered `id` starts, to read it again as a copy (the reference to
    /// it being at `at`).
    pub(crate) fn start_of(&self, id: usize, at: usize) -> Result<usize> {
        match (self.starts.get(id), self.open.get(id)) {
            (Some(_), Some(true)) => Err(Error::at(
                at,
                "a value that contains itself (a cyclic reference), which data cannot hold",
            )),
            (Some(&start), _) => Ok(start),
            _ => Err(Error::at(
                at,
                format!("a reference to value {id}, which comes later or not at all"),
            )),
        }
    }

    /// A copy is being read from here on, until [`end_copy`](Self::end_copy).
    pub(crate) fn begin_copy(&mut self) {
        self.copying += 1;
    }

    /// The copy begun last has been read.
    pub(crate) fn end_copy(&mut self) {
        self.copying -= 1;
    }

    /// Counts one value read; past the budget of copies, an error.
    pub(crate) fn spend(&mut self, at: usize) -> Result<()> {
        if self.copying == 0 {
            return Ok(());
        }
        self.spent += 1;
        if self.spent > COPY_BUDGET {
            return Err(Error::at(
                at,
                format!("references that copy more than {COPY_BUDGET} values"),
            ));
        }
        Ok(())
    }

    /// Whether the value being read is a copy.
    pub(crate) fn copying(&self) -> bool {
        self.copying > 0
    }
}

/// A reader that can read a numbered value again, from where it starts.
pub(crate) trait ReadAgain<'a> {
    /// The reader's record of numbered values.
    fn earlier(&mut self) -> &mut Earlier;
    /// Where the reader is in its input.
    fn position(&mut self) -> &mut usize;
    /// Reads one value at the position, `depth` levels down.
    fn value(&mut self, depth: usize) -> Result<Value<'a>>;

    /// The value numbered `id` read again, as a copy (the reference to it being at `at`),
    /// then back where the reader was.
    fn copy(&mut self, id: usize, at: usize, depth: usize) -> Result<Value<'a>> {
        if depth >= MAX_DEPTH {
            return Err(Error::at(
                at,
                format!("nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        let start = self.earlier().start_of(id, at)?;
        let resume = std::mem::replace(self.position(), start);
        self.earlier().begin_copy();
        let copy = self.value(depth + 1);
        self.earlier().end_copy();
        *self.position() = resume;
        copy
    }
}
