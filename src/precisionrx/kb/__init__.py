"""Packaged, versioned knowledge bases (loaded once, passed explicitly)."""

from precisionrx.kb.registry import KbInfo, KnowledgeBase, list_kbs, verify_kbs

__all__ = ["KbInfo", "KnowledgeBase", "list_kbs", "verify_kbs"]
