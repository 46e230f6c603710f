"""Write two copies of the penguins data for trying `trainpipe monitor`: one drifted, one not.

    python data/make_drifted.py OUT_DIR   # writes OUT_DIR/penguins_drifted.csv and OUT_DIR/penguins_resample.csv

The drifted copy is a colony measured years later: birds 15% heavier with longer flippers and bills, and more of them
seen on Dream. The resample draws the same birds again with replacement, so it differs from the training data by chance
alone. Both keep the `species` column, as labelled rows coming back from the field would.
"""
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def drifted(penguins: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    "The penguins, shifted: heavier, longer flippers and bills, more of them on Dream, counted in a later year."
    rng = np.random.default_rng(seed)
    out = penguins.sample(len(penguins), replace=True, random_state=seed).reset_index(drop=True)
    out["body_mass_g"] = out["body_mass_g"] * 1.15
    out["flipper_length_mm"] = out["flipper_length_mm"] + 12
    out["bill_length_mm"] = out["bill_length_mm"] + 4
    moved = rng.random(len(out)) < 0.3
    out.loc[moved, "island"] = "Dream"
    out["year"] = out["year"] + 6
    return out


def resample(penguins: pd.DataFrame, seed: int = 1) -> pd.DataFrame:
    "The same birds drawn again with replacement: no drift, only chance."
    return penguins.sample(len(penguins), replace=True, random_state=seed).reset_index(drop=True)


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    out.mkdir(parents=True, exist_ok=True)
    penguins = pd.read_csv(HERE/"penguins.csv")
    drifted(penguins).to_csv(out/"penguins_drifted.csv", index=False)
    resample(penguins).to_csv(out/"penguins_resample.csv", index=False)
    print(f"wrote {out/'penguins_drifted.csv'} and {out/'penguins_resample.csv'}")
