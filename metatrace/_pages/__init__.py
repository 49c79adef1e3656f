"""The page and response side: what templates receive (the lazy tags, the refusal inside a
fragment cache), what an HTML response carries, and which responses a shared cache may store."""
