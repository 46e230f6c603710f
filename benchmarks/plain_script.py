"""The plain script that configs/simple.yaml reproduces: python benchmarks/plain_script.py X.csv prints the accuracy."""
import sys

import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

df = pd.read_csv(sys.argv[1] if len(sys.argv) > 1 else "data/example.csv")
X, y = df.drop(columns=["target"]), df["target"]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
scaler = StandardScaler().fit(X_train)
model = RandomForestClassifier(n_estimators=100, random_state=42).fit(scaler.transform(X_train), y_train)
print(accuracy_score(y_test, model.predict(scaler.transform(X_test))))
