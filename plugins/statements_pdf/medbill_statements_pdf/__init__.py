"""medbill plugin `statements_pdf`: PDF patient statements and good-faith estimates."""
