"""Patient records for tests: a primary-prevention cardiovascular patient in YAML."""

from __future__ import annotations


def cardio_patient(
    age: float = 60, smoking: str = "never", country: str = "DE", extra: str = ""
) -> str:
    """A man with cholesterol, LDL-C, blood pressure, BMI and eGFR recorded (mmol/L, mmHg);
    ``extra`` adds YAML keys (conditions, medications)."""
    return f"""id: p
demographics: {{sex_at_birth: male, age_years: {age:g}, country: {country}}}
lifestyle: {{smoking: {smoking}}}
measurements:
  - {{name: Total cholesterol, value: 6.0, unit: mmol/L}}
  - {{name: HDL cholesterol, value: 1.1, unit: mmol/L}}
  - {{name: LDL cholesterol, value: 4.0, unit: mmol/L}}
  - {{name: Systolic blood pressure, value: 150, unit: mmHg}}
  - {{name: BMI, value: 28, unit: kg/m2}}
  - {{name: eGFR, value: 85, unit: mL/min}}
{extra}"""
