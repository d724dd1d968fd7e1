"""The leaderboard: the finished jobs of a sweep as tables, provenance and pages."""
