"""The default pipeline as one plain script, for benchmarks/pipeline_overhead.py to compare against.

Same data, split, preprocessing, model, metrics, plot, MLflow params/metrics/plot and registered skops model as
`trainpipe run configs/default.yaml`, but in one Python process, without notebooks, kernels or run folders.
Usage: python benchmarks/plain_pipeline.py TRACKING_URI WORK_DIR
"""
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import mlflow
import pandas as pd
from mlflow.models import infer_signature
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.metrics import ConfusionMatrixDisplay, accuracy_score, f1_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

uri, work = sys.argv[1], Path(sys.argv[2])
df = pd.read_csv(Path(__file__).resolve().parent.parent/"data/penguins.csv").dropna(subset=["species"])
train, test = train_test_split(df, test_size=0.2, random_state=42, stratify=df.species)
X_train, y_train, X_test, y_test = train.drop(columns="species"), train.species, test.drop(columns="species"), test.species
numeric = X_train.select_dtypes("number").columns.tolist()
categorical = [c for c in X_train if c not in numeric]
pre = ColumnTransformer([("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
                         ("categorical", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                                       OneHotEncoder(handle_unknown="ignore", sparse_output=False)), categorical)])
model = Pipeline([("features", pre), ("model", RandomForestClassifier(n_estimators=100, random_state=42))]).fit(X_train, y_train)
pred = model.predict(X_test)
metrics = {"test_accuracy": accuracy_score(y_test, pred), "test_f1_macro": f1_score(y_test, pred, average="macro")}
fig, ax = plt.subplots()
ConfusionMatrixDisplay.from_predictions(y_test, pred, ax=ax)
fig.savefig(work/"confusion_matrix.png")

mlflow.set_tracking_uri(uri)
mlflow.set_experiment("plain")
with mlflow.start_run():
    mlflow.log_params({"model.name": "random_forest", "model.params.n_estimators": 100, "split.test_size": 0.2})
    mlflow.log_metrics(metrics)
    mlflow.log_artifact(str(work/"confusion_matrix.png"), "plots")
    example = X_test.dropna().head(5)
    mlflow.sklearn.log_model(model, name="model", signature=infer_signature(example, model.predict(example)), input_example=example,
                             registered_model_name="plain-penguins", serialization_format="skops",
                             skops_trusted_types=["numpy.dtype", "sklearn.tree._tree.Tree"],
                             pip_requirements=["mlflow", "scikit-learn", "skops", "pandas"])
print(metrics["test_accuracy"])
