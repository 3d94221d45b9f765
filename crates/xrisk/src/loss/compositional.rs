//! `CompositionalAucLoss` — alternating cross-entropy and AUC-margin steps, optimized by PDSCA
//! (spec `libauc_spec.md` §2.3): the burn adapter of [`xrisk_kernels::compositional`] (the
//! step schedule: `k` CE steps on the probabilities, then `k` AUCM steps). `a`, `b`, `α` live in
//! [`CompositionalAucLoss::aucm`]; a CE step leaves them out of the graph (no gradient, so the
//! optimizer does not move them). [`CompositionalAucLoss::last_was_auc`] tells PDSCA which
//! kind of step it is taking (fixing spec §11 #7's branch choice).

use super::aucm::{AucmConfig, AucmLoss};
use super::{host, inject};
use crate::error::Result;
use burn::tensor::{Device, Tensor};
use xrisk_kernels::compositional::CompositionalAucKernel;

/// The compositional AUC loss.
#[derive(Debug)]
pub struct CompositionalAucLoss {
    /// The AUC-margin part (holds `a`, `b`, `α`).
    pub aucm: AucmLoss,
    kernel: CompositionalAucKernel,
}

impl CompositionalAucLoss {
    /// A loss with `k ≥ 1` steps per phase (LibAUC default 1).
    pub fn new(config: AucmConfig, k: usize, device: &Device) -> Result<Self> {
        Ok(CompositionalAucLoss {
            aucm: AucmLoss::new(config, device),
            kernel: CompositionalAucKernel::new(config, k)?,
        })
    }

    /// Steps per phase.
    pub fn k(&self) -> usize {
        self.kernel.k()
    }

    /// Whether the last call returned the AUC objective (else cross-entropy).
    pub fn last_was_auc(&self) -> bool {
        self.kernel.last_was_auc()
    }

    /// CE or AUCM depending on the step counter; `h` are probabilities.
    pub fn forward(&mut self, h: Tensor<1>, labels: &[f32]) -> Result<Tensor<1>> {
        let hv = host(&h);
        let mut g = vec![0.0f32; hv.len()];
        let (a, b) = self.aucm.ab();
        let out = self
            .kernel
            .forward(&hv, labels, (a, b, self.aucm.alpha), &mut g)?;
        let value = inject(h, g, out.value);
        Ok(if self.kernel.last_was_auc() {
            self.aucm
                .params
                .inject(value, vec![out.d_a as f32], vec![out.d_b as f32])
        } else {
            value
        })
    }
}

impl crate::persist::Persist for CompositionalAucLoss {
    fn save(&self, prefix: &str, s: &mut xrisk_data::snapshot::Snapshot) {
        self.aucm.save(&format!("{prefix}.aucm"), s);
        s.put_scalar(format!("{prefix}.step"), self.kernel.step() as f64);
        s.put_scalar(
            format!("{prefix}.last_was_auc"),
            f64::from(u8::from(self.kernel.last_was_auc())),
        );
    }

    fn restore(&mut self, prefix: &str, s: &xrisk_data::snapshot::Snapshot) -> Result<()> {
        use crate::persist::entry;
        self.aucm.restore(&format!("{prefix}.aucm"), s)?;
        let step = entry(s.count(&format!("{prefix}.step")))? as usize;
        let auc = entry(s.count(&format!("{prefix}.last_was_auc")))? == 1;
        self.kernel.load_state(step, auc);
        Ok(())
    }
}
