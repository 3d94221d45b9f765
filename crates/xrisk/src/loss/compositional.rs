//! `CompositionalAucLoss` — alternating cross-entropy and AUC-margin steps, optimized by
//! PDSCA (spec `libauc_spec.md` §2.3). Calls `0..k` of every `2k` return binary
//! cross-entropy on the probabilities `h`; calls `k..2k` return the AUCM objective
//! ([`AucmLoss`], v1 or v2 with the fixes listed there). LibAUC's schedule (k CE steps then k
//! AUC steps, spec §11 #9) is kept. [`CompositionalAucLoss::last_was_auc`] tells the optimizer
//! which kind of step it is taking (fixing spec §11 #7's branch choice).

use super::aucm::{AucmConfig, AucmLoss};
use super::floats;
use crate::error::Result;
use burn::tensor::{Device, Tensor};

/// The compositional AUC loss.
#[derive(Debug)]
pub struct CompositionalAucLoss {
    /// The AUC-margin part (holds `a`, `b`, `α`).
    pub aucm: AucmLoss,
    /// Steps per phase.
    pub k: usize,
    step: usize,
    last_was_auc: bool,
}

impl CompositionalAucLoss {
    /// A loss with `k` steps per phase (LibAUC default 1).
    pub fn new(config: AucmConfig, k: usize, device: &Device) -> Self {
        CompositionalAucLoss {
            aucm: AucmLoss::new(config, device),
            k: k.max(1),
            step: 0,
            last_was_auc: false,
        }
    }

    /// Whether the last call returned the AUC objective (else cross-entropy).
    pub fn last_was_auc(&self) -> bool {
        self.last_was_auc
    }

    /// CE or AUCM depending on the step counter; `h` are probabilities.
    pub fn forward(&mut self, h: Tensor<1>, labels: &[f32]) -> Result<Tensor<1>> {
        let auc = self.step % (2 * self.k) >= self.k;
        let loss = if auc {
            self.aucm.forward(h, labels)?
        } else {
            super::split("CompositionalAucLoss", h.dims()[0], labels, None, false)?;
            super::finite("CompositionalAucLoss", &h)?;
            let y = floats(labels, &h.device());
            // torch.nn.BCELoss: logs clamped at −100.
            let lp = h.clone().log().clamp_min(-100.0);
            let lq = (h.neg() + 1.0).log().clamp_min(-100.0);
            (y.clone() * lp + (y.neg() + 1.0) * lq).mean().neg()
        };
        self.step += 1;
        self.last_was_auc = auc;
        Ok(loss)
    }
}

impl crate::persist::Persist for CompositionalAucLoss {
    fn save(&self, prefix: &str, s: &mut xrisk_data::snapshot::Snapshot) {
        self.aucm.save(&format!("{prefix}.aucm"), s);
        s.put_scalar(format!("{prefix}.step"), self.step as f64);
        s.put_scalar(
            format!("{prefix}.last_was_auc"),
            f64::from(u8::from(self.last_was_auc)),
        );
    }

    fn restore(&mut self, prefix: &str, s: &xrisk_data::snapshot::Snapshot) -> Result<()> {
        use crate::persist::entry;
        self.aucm.restore(&format!("{prefix}.aucm"), s)?;
        self.step = entry(s.count(&format!("{prefix}.step")))? as usize;
        self.last_was_auc = entry(s.count(&format!("{prefix}.last_was_auc")))? == 1;
        Ok(())
    }
}
