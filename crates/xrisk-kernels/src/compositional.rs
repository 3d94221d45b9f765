//! Compositional AUC (`CompositionalAUCLoss`, optimized by PDSCA; spec `libauc_spec.md` §2.3):
//! calls `0..k` of every `2k` return binary cross-entropy on the probabilities `h` (PyTorch's
//! `BCELoss`, logs clamped at −100); calls `k..2k` return the AUCM objective
//! ([`crate::aucm`], v1 or v2 with the fixes listed there). LibAUC's schedule (k CE steps then
//! k AUC steps, spec §11 #9) is kept. State: the step counter and which kind the last call
//! was (PDSCA picks its branch by it, fixing spec §11 #7); `a`, `b`, `α` are inputs.

use crate::aucm::{AucmConfig, AucmOutput, aucm_checked};
use crate::ce::bce_of_probabilities;
use crate::check::{self, Split};
use crate::error::{KernelError, Result};

/// The compositional AUC kernel: the step counter.
#[derive(Debug, Clone)]
pub struct CompositionalAucKernel {
    config: AucmConfig,
    k: usize,
    step: usize,
    last_was_auc: bool,
    split: Split,
}

impl CompositionalAucKernel {
    /// A kernel with `k ≥ 1` steps per phase (LibAUC default 1).
    pub fn new(config: AucmConfig, k: usize) -> Result<Self> {
        config.validate()?;
        if k == 0 {
            return Err(KernelError::InvalidConfig {
                name: "k",
                value: 0.0,
                reason: "the number of steps per phase must be at least 1",
            });
        }
        Ok(CompositionalAucKernel {
            config,
            k,
            step: 0,
            last_was_auc: false,
            split: Split::default(),
        })
    }

    /// The AUCM settings.
    pub fn config(&self) -> &AucmConfig {
        &self.config
    }

    /// Steps per phase.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Calls so far.
    pub fn step(&self) -> usize {
        self.step
    }

    /// Whether the last call returned the AUC objective (else cross-entropy).
    pub fn last_was_auc(&self) -> bool {
        self.last_was_auc
    }

    /// Replaces the state (a checkpoint).
    pub fn load_state(&mut self, step: usize, last_was_auc: bool) {
        self.step = step;
        self.last_was_auc = last_was_auc;
    }

    /// CE or AUCM on probabilities `h` depending on the step counter; writes `∂value/∂h` into
    /// `grad`. In a CE step the derivatives with respect to `a`, `b`, `α` are 0.
    pub fn forward(
        &mut self,
        h: &[f32],
        labels: &[f32],
        abc: (f64, f64, f64),
        grad: &mut [f32],
    ) -> Result<AucmOutput> {
        let auc = self.step % (2 * self.k) >= self.k;
        let out = if auc {
            aucm_checked(
                &self.config,
                h,
                labels,
                abc,
                grad,
                1.0,
                &mut self.split,
                "AucmLoss",
            )?
        } else {
            check::lengths(h.len(), labels.len(), None)?;
            check::grad_len("grad", grad.len(), h.len())?;
            self.split.fill("CompositionalAucLoss", labels, false)?;
            check::finite("CompositionalAucLoss", h)?;
            AucmOutput {
                value: bce_of_probabilities(h, labels, grad),
                ..AucmOutput::default()
            }
        };
        self.step += 1;
        self.last_was_auc = auc;
        Ok(out)
    }
}
