"""The knowledge base: articles, import and export, the live source, review and gaps."""
