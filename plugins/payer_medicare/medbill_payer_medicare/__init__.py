"""medbill plugin `payer_medicare`: Medicare rules (MBI, timely filing, ABN modifiers, fee schedule) and the Medicare payer adapter."""
