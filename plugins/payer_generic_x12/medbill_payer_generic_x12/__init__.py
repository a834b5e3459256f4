"""medbill plugin `payer_generic_x12`: X12 5010 codecs (837P, 270/271, 276/277, 277CA, 835, 999, TA1) and the generic payer adapter."""
